import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from renderhub.clock import ManualClock
from renderhub.errors import Unauthorized
from renderhub.tokens import TokenIssuer, TokenVerifier, load_or_create_signing_key


def _as_azure_sdk_reads_it(token: str) -> dict:
    """What azure-mixedreality-authentication does: standard base64 plus '==='."""
    return json.loads(base64.b64decode(token.split(".")[1] + "===").decode("utf-8"))


def test_every_payload_survives_standard_base64() -> None:
    clock = ManualClock()
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), clock)
    for index in range(300):
        clock.advance(timedelta(seconds=7))
        token = issuer.issue(f"0000{index:04d}-1111-2222-3333-444455556666")
        payload = token.split(".")[1]
        assert "-" not in payload and "_" not in payload
        claims = _as_azure_sdk_reads_it(token)
        assert claims["exp"] == int(clock.now().timestamp()) + 24 * 3600


def test_verifies_own_tokens_and_rejects_others() -> None:
    clock = ManualClock()
    key = Ed25519PrivateKey.generate()
    token = TokenIssuer(key, clock).issue("account-a")
    verifier = TokenVerifier(key.public_key(), clock)
    assert verifier.verify(token).account_id == "account-a"
    foreign = TokenIssuer(Ed25519PrivateKey.generate(), clock).issue("account-a")
    with pytest.raises(Unauthorized):
        verifier.verify(foreign)
    with pytest.raises(Unauthorized):
        verifier.verify("not.a.token")


def test_tokens_expire_after_24_hours_even_when_cached() -> None:
    clock = ManualClock()
    key = Ed25519PrivateKey.generate()
    token = TokenIssuer(key, clock).issue("account-a")
    verifier = TokenVerifier(key.public_key(), clock)
    verifier.verify(token)
    clock.advance(timedelta(hours=23, minutes=59))
    verifier.verify(token)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_signing_key_is_created_once_and_private(tmp_path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    first = load_or_create_signing_key(path)
    second = load_or_create_signing_key(path)
    assert first.public_key().public_bytes_raw() == second.public_key().public_bytes_raw()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.with_name("signing.pem.pub").exists()
