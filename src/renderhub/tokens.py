"""Access tokens: Ed25519-signed JWTs bound to one account.

The control plane signs; render hosts verify with the public key alone. Tokens are shaped so
that Azure's SDK can read them: it decodes the payload with *standard* base64, which silently
drops '-' and '_', so every token's encoded payload is padded until it contains neither.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from renderhub.clock import Clock
from renderhub.errors import Unauthorized

TOKEN_LIFETIME = timedelta(hours=24)
ISSUER = "renderhub"
AUDIENCE = "renderhub-sessions"
# Render hosts off the control plane's disk fetch data-dir models with a token of this
# audience; it is never accepted as an access token, nor an access token in its place.
HOST_MODELS_AUDIENCE = "renderhub-host-models"
_ALGORITHM = "EdDSA"
_PADDING_CLAIM = "pad"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    account_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class HostModelsClaims:
    """What a host's model credential grants: these data-dir models, for one session."""

    account_id: str
    session_id: str
    models: tuple[str, ...]
    expires_at: float


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM private key at `path`, creating it (mode 0600) on first use.

    The public half is written beside it as `<name>.pub` for render hosts to read.
    """
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    public_path = public_key_path(path)
    if not public_path.exists():
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


def public_key_path(private_key_path: Path) -> Path:
    return private_key_path.with_name(private_key_path.name + ".pub")


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key


class TokenIssuer:
    def __init__(self, private_key: Ed25519PrivateKey, clock: Clock) -> None:
        self._key = private_key
        self._clock = clock

    def issue(self, account_id: str) -> str:
        now = int(self._clock.now().timestamp())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": account_id,
            "accountId": account_id,
            "iat": now,
            "nbf": now - 60,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
            "jti": secrets.token_hex(8),
        }
        claims[_PADDING_CLAIM] = _padding_for(claims)
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def issue_host_models(
        self, account_id: str, session_id: str, models: list[str], expires_at: float
    ) -> str:
        """A render host's credential for fetching its session's data-dir models
        (paths relative to the models directory) until `expires_at` (epoch seconds)."""
        now = int(self._clock.now().timestamp())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": HOST_MODELS_AUDIENCE,
            "sub": f"{account_id}/{session_id}",
            "accountId": account_id,
            "sessionId": session_id,
            "models": models,
            "iat": now,
            "nbf": now - 60,
            "exp": int(expires_at),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)


def _padding_for(claims: dict[str, object]) -> str:
    """A run of spaces that makes the base64url payload free of '-' and '_'.

    Each added space shifts every later byte's position in the 3-byte groups, so a few tries
    always find a length whose encoding avoids both characters.
    """
    for length in range(64):
        candidate = {**claims, _PADDING_CLAIM: " " * length}
        raw = json.dumps(candidate, separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(raw).rstrip(b"=")
        if b"-" not in encoded and b"_" not in encoded:
            return " " * length
    raise RuntimeError("no padding makes this token readable by standard base64")


class TokenVerifier:
    """Checks signature, audience and expiry; caches good tokens until they expire."""

    def __init__(self, public_key: Ed25519PublicKey, clock: Clock, cache_size: int = 4096) -> None:
        self._key = public_key
        self._clock = clock
        self._cache: dict[str, TokenClaims] = {}
        self._cache_size = cache_size

    def verify(self, token: str) -> TokenClaims:
        now = self._clock.now().timestamp()
        cached = self._cache.get(token)
        if cached is not None and cached.expires_at > now:
            return cached
        claims = self._decode(token, now)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = claims
        return claims

    def verify_host_models(self, token: str) -> HostModelsClaims:
        """Check a host's model credential (never an access token); not cached."""
        now = self._clock.now().timestamp()
        payload = self._checked_payload(token, now, HOST_MODELS_AUDIENCE, "host credential")
        account_id, session_id = payload.get("accountId"), payload.get("sessionId")
        models = payload.get("models")
        if (
            not isinstance(account_id, str)
            or not isinstance(session_id, str)
            or not isinstance(models, list)
            or not all(isinstance(model, str) for model in models)
        ):
            raise Unauthorized("The host credential is invalid.")
        return HostModelsClaims(account_id, session_id, tuple(models), float(payload["exp"]))

    def _decode(self, token: str, now: float) -> TokenClaims:
        payload = self._checked_payload(token, now, AUDIENCE, "access token")
        account_id = payload.get("accountId")
        if not isinstance(account_id, str):
            raise Unauthorized("The access token is invalid.")
        return TokenClaims(account_id=account_id, expires_at=float(payload["exp"]))

    def _checked_payload(self, token: str, now: float, audience: str, kind: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                # Time claims are checked below against the injected clock, not the wall clock.
                options={
                    "require": ["exp", "nbf", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The {kind} is invalid.") from exc
        if float(payload["exp"]) <= now:
            raise Unauthorized(f"The {kind} has expired; request a new one.")
        if float(payload["nbf"]) > now:
            raise Unauthorized(f"The {kind} is not valid yet.")
        return payload
