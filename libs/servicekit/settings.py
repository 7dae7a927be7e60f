"""Settings shared by every process; each service reads them with the `KEZHUAN_` prefix."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "kezhuan-dev-secret-change-me-in-production"
"""The documented dev/test default; refused when KEZHUAN_ENV=production."""

SERVICES = ("ownership", "pricing", "exemption", "finance", "evaluation")


class KezhuanSettings(BaseSettings):
    """Process settings (API.md §1); unknown KEZHUAN_* variables are ignored."""

    model_config = SettingsConfigDict(env_prefix="KEZHUAN_", extra="ignore")

    env: Literal["production", "dev", "test"] = "dev"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    nats_url: str = "nats://127.0.0.1:4222"
    data_dir: Path = Path("var")
    stream_replicas: int = 1
    db_pool_size: int = 4
    db_max_overflow: int = 4
    log_level: str = "info"
    rate_limit_per_minute: int = 60000
    """Gateway: requests a minute per client (token `sub`, or IP when anonymous); 0 turns it off."""
    max_deliver: int = 20
    """Deliveries of an event a consumer fails on before it is dead-lettered."""
    access_log: bool = True
    """One JSON log line per HTTP request (gateway and services)."""
    settle_gc: bool = True
    """Freeze start-up objects out of the garbage collector once started (off where one process
    starts services again and again, as the in-process tests do: frozen garbage is never freed)."""
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    """OpenTelemetry spans: none, console (one JSON span a line on stdout) or otlp (OTEL_EXPORTER_OTLP_ENDPOINT)."""

    database_url_ownership: str | None = None
    database_url_pricing: str | None = None
    database_url_exemption: str | None = None
    database_url_finance: str | None = None
    database_url_evaluation: str | None = None
    database_url_gateway: str | None = None
    """The gateway's own database (webhook subscriptions and deliveries)."""

    ownership_url: str = "http://127.0.0.1:8001"
    pricing_url: str = "http://127.0.0.1:8002"
    exemption_url: str = "http://127.0.0.1:8003"
    finance_url: str = "http://127.0.0.1:8004"
    evaluation_url: str = "http://127.0.0.1:8005"

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> "KezhuanSettings":
        secret = self.jwt_secret.get_secret_value()
        if self.env == "production" and (secret == DEV_JWT_SECRET or len(secret) < 32):
            raise ValueError(
                "KEZHUAN_JWT_SECRET must be set to a secret of at least 32 characters in production"
            )
        return self

    @property
    def test_clock_enabled(self) -> bool:
        """The test clock exists only in dev and test (API.md §2)."""
        return self.env in ("dev", "test")

    def database_url(self, service: str) -> str:
        """The database of a service (or the gateway): KEZHUAN_DATABASE_URL_<NAME>, else a SQLite file in the data dir."""
        explicit = getattr(self, f"database_url_{service}", None)
        if explicit:
            return explicit
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def service_url(self, service: str) -> str:
        """Base URL of another service, for read-only lookups."""
        return getattr(self, f"{service}_url")


@lru_cache
def get_settings() -> KezhuanSettings:
    """Settings built once per process; tests call `get_settings.cache_clear()` to rebuild."""
    return KezhuanSettings()
