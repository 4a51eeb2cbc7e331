"""Keyset paging of lists: the skipToken a `@nextLink` carries is the (creation time, id) of
the last item of the page, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json

from renderhub.errors import BadRequest


def encode_skip_token(created_at: float, item_id: str) -> str:
    raw = json.dumps([created_at, item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skip_token(token: str | None) -> tuple[float, str] | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, item_id = json.loads(raw)
        return float(created_at), str(item_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("The skipToken is not one this service issued.") from exc


def next_link(base: str, path: str, version: str, created_at: float, item_id: str) -> str:
    """The `@nextLink` after the item (created_at, item_id): followed verbatim by the SDKs,
    so it carries its own api-version."""
    token = encode_skip_token(created_at, item_id)
    return f"{base}{path}?api-version={version}&skipToken={token}"
