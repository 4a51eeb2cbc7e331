"""What a backend is told about a session's host: the spec, with what a host off the control
plane's disk needs (the token-verifying public key, and a credential for its models)."""

from __future__ import annotations

import functools
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from renderhub.backends.base import HostSpec
from renderhub.clock import Clock
from renderhub.errors import BadRequest
from renderhub.model_sources import ModelPolicy
from renderhub.settings import Settings
from renderhub.store.records import SessionRecord
from renderhub.tokens import TokenIssuer, load_or_create_signing_key


def host_spec(record: SessionRecord, settings: Settings, clock: Clock, deadline: float) -> HostSpec:
    """The spec of the host of `record`, whose hard deadline is `deadline` (epoch seconds)."""
    key = _signing_key(settings.signing_key_path)
    models = data_dir_models(record.models, settings.model_policy)
    token = TokenIssuer(key, clock).issue_host_models(
        record.account_id, record.id, models, deadline
    )
    return HostSpec(
        account_id=record.account_id,
        session_id=record.id,
        size=record.size,
        models=record.models,
        deadline=deadline,
        polygon_limit=settings.polygon_limit_for(record.size),
        public_key_pem=_public_pem(key),
        model_token=token,
    )


def public_key_pem(settings: Settings) -> str:
    """The control plane's token-verifying public key, for hosts off its disk."""
    return _public_pem(_signing_key(settings.signing_key_path))


def data_dir_models(urls: list[str], policy: ModelPolicy) -> list[str]:
    """The models among `urls` that live under the models directory, as relative POSIX
    paths: what a host's model credential lets it fetch from the control plane."""
    root = policy.models_dir.resolve()
    found = []
    for url in urls:
        try:
            source = policy.check(url)
        except BadRequest:
            continue  # checked at create; a model refused now is refused by the host too
        if source.path is not None and source.path.is_relative_to(root):
            found.append(PurePosixPath(source.path.relative_to(root)).as_posix())
    return found


@functools.lru_cache(maxsize=4)
def _signing_key(path: Path) -> Ed25519PrivateKey:
    return load_or_create_signing_key(path)


def _public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
