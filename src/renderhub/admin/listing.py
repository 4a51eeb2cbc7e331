"""The query string of the admin API's lists (/admin/sessions, /admin/conversions): filters,
`limit` and the opaque `after` cursor. Each bad value is a 400 naming its parameter, and an
unknown parameter (a typo such as `acount`) is refused rather than silently ignored."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Protocol, TypeVar

from starlette.requests import Request

from renderhub.errors import BadRequest
from renderhub.store.admin_queries import Cursor

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
ACTIVE_FILTER = "active"

StatusT = TypeVar("StatusT", bound=StrEnum)


def check_parameters(request: Request, allowed: Collection[str]) -> None:
    """Refuse a parameter the list does not take, and one given twice."""
    for name in request.query_params:
        if name not in allowed:
            taken = ", ".join(f"'{n}'" for n in allowed)
            raise BadRequest(
                f"'{name}' is not a parameter of this list; it takes {taken}.", target=name
            )
        if len(request.query_params.getlist(name)) > 1:
            raise BadRequest(f"'{name}' is given more than once.", target=name)


def parse_limit(text: str | None) -> int:
    """How many items a page holds: 1 to MAX_LIMIT, DEFAULT_LIMIT when not given."""
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(
            f"limit: {text!r} is not a whole number from 1 to {MAX_LIMIT}.", target="limit"
        )
    return int(text)


def parse_choices(
    parameter: str,
    text: str | None,
    kind: type[StatusT],
    active: Iterable[StatusT] | None = None,
) -> frozenset[StatusT] | None:
    """A comma-separated list of `kind`'s values in any letter case (or `active`, standing
    for `active`'s members, where given); None when the parameter is absent."""
    if text is None:
        return None
    chosen: set[StatusT] = set()
    for part in (word.strip() for word in text.split(",")):
        if active is not None and part.lower() == ACTIVE_FILTER:
            chosen.update(active)
            continue
        match = next((value for value in kind if value.value.lower() == part.lower()), None)
        if match is None:
            allowed = [value.value for value in kind]
            allowed += [ACTIVE_FILTER] if active is not None else []
            raise BadRequest(
                f"{parameter}: {part!r} is not one of {', '.join(allowed)}.", target=parameter
            )
        chosen.add(match)
    return frozenset(chosen)


class Listed(Protocol):
    """What a listed record has for keyset paging: newest first, ties broken by ids."""

    @property
    def created_at(self) -> float: ...

    @property
    def account_id(self) -> str: ...

    @property
    def id(self) -> str: ...


ListedT = TypeVar("ListedT", bound=Listed)


def one_page(records: list[ListedT], limit: int) -> tuple[list[ListedT], str | None]:
    """A page of at most `limit` records, from a query asked for `limit + 1` of them, and the
    `next` value that continues after it (None on the last page)."""
    page = records[:limit]
    if len(records) <= limit:
        return page, None
    last = page[-1]
    return page, encode_cursor((last.created_at, last.account_id, last.id))


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(list(cursor)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    """The `after` parameter: a `next` value this service gave out, or absent."""
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        created_at, account_id, item_id = json.loads(raw)
        if not (isinstance(account_id, str) and isinstance(item_id, str)):
            raise TypeError("not a cursor")
        return float(created_at), account_id, item_id
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest(
            "after: not a 'next' value this service gave out.", target="after"
        ) from exc
