"""Who may watch: a client must present an access token of the session's account."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

from renderhub.clock import Clock, SystemClock
from renderhub.errors import Forbidden, Unauthorized
from renderhub.host_protocol import Flag
from renderhub.tokens import TokenClaims, TokenVerifier, load_public_key


class ClientAuth:
    """Checks `Authorization: Bearer <access token>` against the control plane's public key
    and the session's account. Without either, no client can connect."""

    def __init__(self, verifier: TokenVerifier | None, account_id: str | None) -> None:
        self._verifier = verifier
        self._account_id = account_id
        self._awaiting_session = False

    def await_session(self) -> None:
        """A pooled host: no client may connect until `bind` names the session's account."""
        self._awaiting_session = True

    def bind(self, account_id: str) -> None:
        """The session's account, once a pooled host is assigned one."""
        self._account_id, self._awaiting_session = account_id, False

    @classmethod
    def from_files(
        cls, public_key: Path | None, account_id: str | None, clock: Clock | None = None
    ) -> ClientAuth:
        """Read the public key (PEM) if one is given."""
        if public_key is None:
            return cls(None, account_id)
        return cls(TokenVerifier(load_public_key(public_key), clock or SystemClock()), account_id)

    def check(self, request: Request) -> TokenClaims:
        """The token's claims; raise Unauthorized (401) or Forbidden (403)."""
        if self._awaiting_session:
            raise Forbidden("This render host has no session yet, so no client can connect.")
        if self._verifier is None or self._account_id is None:
            missing = Flag.PUBLIC_KEY if self._verifier is None else Flag.ACCOUNT_ID
            raise Forbidden(
                f"This render host was started without {missing}, so no client can connect."
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Connecting needs 'Authorization: Bearer <access token>'.")
        claims = self._verifier.verify(token.strip())
        if claims.account_id != self._account_id:
            raise Forbidden("The access token is for another account than this session's.")
        return claims
