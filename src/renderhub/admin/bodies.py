"""The bodies of the admin API's account routes (docs/admin-api.md), as declarative models:
`renderhub.validation` refuses unknown fields and names the field of any other complaint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import PlainValidator

from renderhub.admin.quota_bodies import QuotasBody
from renderhub.quotas import Quotas
from renderhub.store.accounts import KeySlot
from renderhub.validation import WireBody

MAX_NAME_LENGTH = 200  # the accounts.name column


def _account_name(value: Any) -> str | None:
    """null (no name) or 1 to 200 characters, surrounding blanks dropped."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string or null")
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"must be 1 to {MAX_NAME_LENGTH} characters (or null)")
    return name


AccountName = Annotated[str | None, PlainValidator(_account_name)]


class CreateAccount(WireBody):
    """POST /admin/accounts: both fields optional (no name; no limits)."""

    name: AccountName = None
    quotas: QuotasBody | None = None

    def quota_values(self) -> Quotas:
        return self.quotas.quotas() if self.quotas is not None else Quotas()


class RenameAccount(WireBody):
    """PATCH /admin/accounts/{id}: each field given is changed; an empty body changes nothing."""

    name: AccountName = None

    def changes_name(self) -> bool:
        return "name" in self.model_fields_set


class RotateKey(WireBody):
    """POST /admin/accounts/{id}/keys:rotate."""

    key: Literal["primary", "secondary"]

    @property
    def slot(self) -> KeySlot:
        return KeySlot(self.key)
