"""Access to accounts for the API: account keys in, access tokens out (the token service)."""

from __future__ import annotations

from renderhub.clock import Clock
from renderhub.errors import Forbidden
from renderhub.quotas import ACCOUNT_DISABLED
from renderhub.store.accounts import AccountStore, NewAccount, key_matches
from renderhub.tokens import TokenIssuer


class AccessService:
    def __init__(self, accounts: AccountStore, issuer: TokenIssuer, clock: Clock) -> None:
        self.accounts = accounts
        self.issuer = issuer
        self.clock = clock

    async def token_for_key(self, account_id: str, key: str) -> str | None:
        """An access token for the account if `key` is one of its keys; None otherwise (the
        caller must not tell which part was wrong). A disabled account's right key is refused
        (403): only who holds the key learns that the account is disabled."""
        account = await self.accounts.get(account_id)
        if account is None or not key or not key_matches(key, account):
            return None
        if account.disabled:
            raise Forbidden(ACCOUNT_DISABLED)
        return self.issuer.issue(account.id)

    async def create_account(self, name: str | None = None) -> NewAccount:
        return await self.accounts.create(self.clock.now().timestamp(), name)

    def issue(self, account_id: str) -> str:
        return self.issuer.issue(account_id)
