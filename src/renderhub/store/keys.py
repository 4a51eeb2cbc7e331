"""The token-signing key, shared by every replica through the store.

The store holds the one key; each replica also keeps it in its data directory (the private
key, and its public half that local render hosts read). On the first start against an empty
store, a key already in the data directory is taken, so tokens issued before stay valid."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.schema import signing_keys
from renderhub.tokens import load_or_create_signing_key, public_key_path

_KEY_ID = 1


async def shared_signing_key(engine: AsyncEngine, path: Path, now: float) -> Ed25519PrivateKey:
    """The store's signing key, created (or taken from `path`) when the store has none; the
    files at `path` are brought in line with it."""
    pem = await _stored_pem(engine)
    if pem is None:
        candidate = load_or_create_signing_key(path)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(signing_keys).values(
                        id=_KEY_ID, private_pem=_pem_of(candidate).decode(), created_at=now
                    )
                )
        except IntegrityError:
            pass  # another replica stored its key first: that one is everybody's
        pem = await _stored_pem(engine)
        assert pem is not None
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the store's signing key is not an Ed25519 private key")
    _write_files(key, path)
    return key


async def _stored_pem(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(signing_keys.c.private_pem).where(signing_keys.c.id == _KEY_ID)
        )
        row = rows.first()
    return None if row is None else str(row[0])


def _pem_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_files(key: Ed25519PrivateKey, path: Path) -> None:
    """Replace the key files when they hold another key (atomically, private one 0600)."""
    private = _pem_of(key)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _replace_if_different(path, private, 0o600)
    _replace_if_different(public_key_path(path), public, 0o644)


def _replace_if_different(path: Path, content: bytes, mode: int) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.replace(temporary, path)
