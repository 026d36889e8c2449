"""Settings, read from `NEXA_*` environment variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nexa.kit.s3 import S3Location

# Known so that production refuses to start with it.
DEFAULT_SECRET_KEY = "nexa-insecure-development-secret-change-me"


class ConfigError(ValueError):
    """The configuration cannot work; the message says why in plain words."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXA_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    # Larger webhook bodies are refused with 413 before being read whole.
    webhook_max_bytes: int = 2_000_000
    data_dir: Path = Path("data")

    database_url: str | None = None
    database_pool_size: int = 10
    redis_url: str | None = None
    # Redis channel prefix for realtime events: lets several installs (or test runs) share one Redis.
    realtime_prefix: str = "nexa:rt:"
    realtime_client_queue_size: int = 256
    # An agent counts as present this long after their socket's last heartbeat (Chatwoot uses 20 s).
    # Clients ping more often (docs/realtime.md says every 10 s) so one late ping does not flap them offline.
    presence_ttl_seconds: float = 20.0

    secret_key: str = DEFAULT_SECRET_KEY
    # Separate from secret_key so rotating session signing does not make stored credentials unreadable.
    encryption_key: str | None = None

    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    session_cookie_name: str = "nexa_session"
    csrf_cookie_name: str = "nexa_csrf"
    login_max_attempts: int = 10
    login_window_seconds: int = 300

    # A queue's limit is also the largest chunk of a chunked kind (nexa.jobs.registry.job): bot turns and
    # deliveries of many conversations share a claim and a transaction under load, and a queue's chunks run
    # one after another. 40 of each: in the full-loop bench, once the inbound backlog was stored the bot
    # queue and then the deliveries were the loop's limit with 20 (docs/performance.md).
    worker_queues: str = "default:10,inbound:2,deliveries:40,webhooks:10,bot:40,media:2"
    worker_poll_interval: float = 1.0
    # Least time between two claims of one queue (Oban's dispatch_cooldown): jobs finishing within it free
    # their slots for one claim transaction instead of one each.
    worker_dispatch_cooldown: float = 0.005
    job_heartbeat_seconds: float = 15.0
    job_rescue_after_seconds: float = 90.0
    job_prune_after_days: int = 7
    job_modules: str = ""

    # Outbound delivery (docs/channels/delivery.md): attempts before a message is marked failed, and the
    # retry backoff (base * 2^(attempt-1) s, capped, +-10 % jitter) when the provider is down or throttling.
    delivery_max_attempts: int = 10
    delivery_retry_base_seconds: float = 5.0
    delivery_retry_max_seconds: float = 600.0
    # Outgoing webhooks (docs/webhooks.md): attempts per delivery (the defaults retry for more than 24 h),
    # backoff base * 2^(attempt-1) s capped, an endpoint disabled after this many failed attempts in a row
    # or a delivery that used all its attempts, and private/loopback targets refused in production.
    webhook_max_attempts: int = 18
    webhook_retry_base_seconds: float = 15.0
    webhook_retry_max_seconds: float = 6 * 3600.0
    webhook_disable_after_failures: int = 100
    webhook_allow_private_targets: bool = False
    # Media files (default: data_dir/media); signed links to them stay valid this long.
    media_dir: Path | None = None
    media_url_ttl_seconds: int = 900
    media_max_bytes: int = 100_000_000
    # Where media files live: "local" (media_dir) or "s3", any S3-compatible bucket (docs/channels/delivery.md).
    media_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    # Unset = AWS; e.g. http://minio:9000, https://<account>.r2.cloudflarestorage.com, https://<region>.digitaloceanspaces.com
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # <endpoint>/<bucket>/<key> (MinIO, most self-hosted servers) instead of <bucket>.<endpoint host>/<key>.
    s3_path_style: bool = False
    # Serve files by redirecting to a short presigned S3 link (the bucket must be reachable by browsers and
    # providers) instead of streaming them through Nexa.
    s3_redirect: bool = False
    # Knowledge search embeddings (docs/knowledge.md): any OpenAI-compatible `/embeddings` endpoint, e.g.
    # "https://api.openai.com/v1"; unset = full-text search only.
    embeddings_base_url: str | None = None
    embeddings_api_key: str | None = None
    embeddings_model: str = "text-embedding-3-small"

    log_level: str = "INFO"
    log_json: bool = True

    admin_email: str | None = None
    admin_password: str | None = None
    account_name: str = "Demo"

    default_locale: str = "pt-BR"
    default_timezone: str = "America/Sao_Paulo"

    allowed_hosts: list[str] = Field(default_factory=lambda: ["*"])

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return _asyncify(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'nexa.db').resolve()}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.is_production:
            problems = []
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                problems.append("NEXA_SECRET_KEY must be set to a random string of at least 32 characters")
            if not self.encryption_key:
                problems.append("NEXA_ENCRYPTION_KEY must be set (generate one with `nexa keys generate`)")
            if problems:
                raise ConfigError("Refusing to start in production: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _require_s3_settings(self) -> Settings:
        if self.media_store == "s3":
            required = ("s3_bucket", "s3_access_key_id", "s3_secret_access_key")
            missing = [f"NEXA_{name.upper()}" for name in required if not getattr(self, name)]
            if missing:
                raise ConfigError("NEXA_MEDIA_STORE=s3 needs " + ", ".join(missing))
        return self

    def s3_location(self) -> S3Location:
        # Only called when media_store == "s3", which the validator above made complete.
        assert self.s3_bucket and self.s3_access_key_id and self.s3_secret_access_key
        return S3Location(
            bucket=self.s3_bucket,
            access_key_id=self.s3_access_key_id,
            secret_access_key=self.s3_secret_access_key,
            region=self.s3_region,
            endpoint_url=self.s3_endpoint_url,
            path_style=self.s3_path_style,
        )

    def queue_limits(self) -> dict[str, int]:
        """`default:10,deliveries:5` -> {"default": 10, "deliveries": 5}."""
        limits: dict[str, int] = {}
        for part in self.worker_queues.split(","):
            part = part.strip()
            if not part:
                continue
            name, _, limit = part.partition(":")
            limits[name.strip()] = int(limit or 10)
        return limits


def _asyncify(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://, sqlite://) and pick the async driver."""
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
