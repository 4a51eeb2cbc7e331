"""Typed settings, read once at start from flags and `RENDERHUB_*` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from renderhub.host_protocol import DEFAULT_FETCH_TIMEOUT_SECONDS, DEFAULT_MAX_MODEL_BYTES
from renderhub.model_sources import ModelPolicy
from renderhub.sizes import SessionSize


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "renderhub"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDERHUB_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Store, keys, logs.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file in the data directory."
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8080, ge=0, le=65535, description="Port the API listens on.")
    public_url: str | None = Field(
        None, description="Base URL clients reach the API at (Location headers, @nextLink)."
    )
    backend: str = Field("local", description="Where render hosts run (entry-point name).")
    capacity_standard: int = Field(4, ge=0, description="Concurrent Standard sessions.")
    capacity_premium: int = Field(1, ge=0, description="Concurrent Premium sessions.")
    warm_standard: int = Field(
        0, ge=0, description="Standard hosts kept started and idle (they count against capacity)."
    )
    warm_premium: int = Field(
        0, ge=0, description="Premium hosts kept started and idle (they count against capacity)."
    )
    start_timeout_seconds: float = Field(300.0, gt=0, description="Starting longer -> Error.")
    host_grace_seconds: float = Field(60.0, ge=0, description="Host deadline past the lease.")
    health_interval_seconds: float = Field(5.0, gt=0, description="Liveness check of hosts.")
    health_concurrency: int = Field(
        64, ge=1, le=10_000, description="Hosts one replica checks at once."
    )
    claim_seconds: float = Field(
        10.0,
        gt=0,
        description="A replica's claim on its sessions' work lapses this long after its last "
        "renewal; another replica then takes the work over.",
    )
    stop_timeout_seconds: float = Field(10.0, gt=0, description="Graceful stop before a kill.")
    retention_days: float = Field(30.0, ge=0, description="Ended sessions stay readable.")
    standard_polygon_limit: int = Field(
        20_000_000, ge=1, description="Most polygons a Standard host renders (ARR: 20 million)."
    )
    max_lease_minutes: int = Field(1440, ge=1, description="Longest lease a session may have.")
    page_size: int = Field(100, ge=1, le=1000, description="Sessions per list page.")
    allow_models: list[str] = Field(
        default_factory=list, description="URL prefixes models may be loaded from."
    )
    max_model_bytes: int = Field(
        DEFAULT_MAX_MODEL_BYTES, gt=0, description="Largest model download."
    )
    model_fetch_timeout_seconds: float = Field(
        DEFAULT_FETCH_TIMEOUT_SECONDS, gt=0, description="Per model download."
    )
    allow_storage: list[str] = Field(
        default_factory=list,
        description="Storage container URL prefixes (https://ACCOUNT.blob.core.windows.net/, "
        "file:///srv/models/) that conversions may read from and write to; none by default.",
    )
    conversion_concurrency: int = Field(
        2, ge=1, le=256, description="Conversions run at once by one control-plane replica."
    )
    conversion_timeout_seconds: float = Field(
        1800.0, gt=0, description="A conversion running longer fails."
    )
    max_conversion_input_bytes: int = Field(
        2 << 30, gt=0, description="Largest total a conversion downloads (model and its files)."
    )
    max_conversion_output_bytes: int = Field(
        2 << 30, gt=0, description="Largest asset a conversion writes."
    )
    converter: str = Field(
        "renderhub.conversions.converter:convert",
        description="The function that converts a model, as module:function.",
    )
    storage_timeout_seconds: float = Field(
        300.0, gt=0, description="Per storage transfer (one download or upload)."
    )
    host_address: str | None = Field(
        None, description="Address hosts listen on and clients reach them at; default: --host."
    )
    ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN servers for hosts' WebRTC, e.g. turn:user:pass@turn.example:3478.",
    )
    host_models_url: str | None = Field(
        None,
        description="Base URL at which hosts off this machine (Ray nodes) reach the control "
        "plane to fetch data-dir models; default: the public URL, else http://HOST:PORT.",
    )
    ray_address: str | None = Field(
        None, description="The Ray cluster's head (GCS) address, HOST:PORT (backend ray)."
    )
    ray_namespace: str = Field("renderhub", description="Ray namespace of the hosts' actors.")
    ray_resource_standard: str = Field(
        "renderhub_standard", description="Ray resource a Standard host takes one unit of."
    )
    ray_resource_premium: str = Field(
        "renderhub_premium", description="Ray resource a Premium host takes one unit of."
    )
    ray_gpus_standard: float = Field(0.0, ge=0, description="GPUs a Standard host takes on Ray.")
    ray_gpus_premium: float = Field(0.0, ge=0, description="GPUs a Premium host takes on Ray.")
    workers: int = Field(1, ge=1, le=64, description="API worker processes.")
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: Literal["text", "json"] = Field(
        "text", description="text, or json: one object per line with cv, account and session."
    )
    price_standard_hour: float = Field(
        0.0, ge=0, le=1e6, description="Price of one Standard session-hour, for usage reports."
    )
    price_premium_hour: float = Field(
        0.0, ge=0, le=1e6, description="Price of one Premium session-hour, for usage reports."
    )
    price_currency: str = Field("USD", max_length=8, description="Currency of the prices.")
    metrics_public: bool = Field(
        False,
        description="Serve /metrics without the admin token (for a scraper on a trusted network).",
    )

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'renderhub.db'}"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def hosts_dir(self) -> Path:
        return self.data_dir / "hosts"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "keys" / "token-signing.pem"

    @property
    def model_policy(self) -> ModelPolicy:
        return ModelPolicy(self.models_dir, tuple(self.allow_models), tuple(self.allow_storage))

    def polygon_limit_for(self, size: SessionSize) -> int | None:
        return self.standard_polygon_limit if size is SessionSize.STANDARD else None

    def capacity_for(self, size: str) -> int:
        return self.capacity_premium if size == "Premium" else self.capacity_standard

    def ray_resource_for(self, size: SessionSize) -> str:
        if size is SessionSize.PREMIUM:
            return self.ray_resource_premium
        return self.ray_resource_standard

    def ray_gpus_for(self, size: SessionSize) -> float:
        return self.ray_gpus_premium if size is SessionSize.PREMIUM else self.ray_gpus_standard

    @property
    def models_url(self) -> str:
        """Where remote hosts fetch data-dir models: the control plane as they reach it."""
        base = self.host_models_url or self.public_url
        if base:
            return base.rstrip("/")
        host = self.advertised_host_address
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def warm_for(self, size: SessionSize) -> int:
        return self.warm_premium if size is SessionSize.PREMIUM else self.warm_standard

    @model_validator(mode="after")
    def _pools_fit_capacity(self) -> Settings:
        for size in SessionSize:
            warm, capacity = self.warm_for(size), self.capacity_for(size.value)
            if warm > capacity:
                name = size.value.upper()
                raise ValueError(
                    f"RENDERHUB_WARM_{name} ({warm}) is larger than RENDERHUB_CAPACITY_{name} "
                    f"({capacity}); warm hosts count against capacity"
                )
        return self

    @property
    def advertised_host_address(self) -> str:
        if self.host_address:
            return self.host_address
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
