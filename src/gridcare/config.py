"""Settings: defaults < TOML file < ``GRIDCARE_*`` environment variables < CLI flags.

All state lives under one data directory (``data_dir``): the embedded SQLite database, the readings lake
and logs. Tests and benchmarks isolate themselves by pointing ``data_dir`` at a temporary folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ENV_PREFIX = "GRIDCARE_"
CONFIG_FILE_NAME = "gridcare.toml"
MIN_AUDIT_RETENTION_DAYS = 180


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the setting and the reason."""


class Settings(BaseModel):
    """Runtime settings. Paths are absolute after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Literal["dev", "prod"] = "dev"
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; dev default is SQLite in the data directory"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    demo_customers: int = Field(default=2000, ge=0, description="customers `make run` creates when empty")
    demo_seed: int = 1
    frontend_host: str = Field(default="127.0.0.1", description="address terminals connect to")
    frontend_port: int = Field(default=9100, ge=0, le=65535, description="Q/GDW 1376.1 TCP port")
    reread_days: int = Field(default=3, ge=0, le=62, description="补抄 window: freezes of the last N days")
    reread_interval_s: float = Field(default=600.0, gt=0, description="seconds between re-read passes")
    terminal_idle_timeout_s: float = Field(default=300.0, gt=0, description="close silent connections [s]")
    billing_day: int = Field(
        default=5, ge=1, le=28, description="抄表核算: from this day `gridcare run` bills the previous month"
    )
    billing_auto_release: bool = Field(
        default=True, description="release bills without anomalies automatically; bills in review wait"
    )
    prepaid_hour: int = Field(
        default=7, ge=0, le=23, description="hour of the daily prepaid cost-control pass [Beijing time]"
    )

    # security: accounts, sessions, two factors, audit, risk warnings, HTTP hardening
    lockout_attempts: int = Field(default=5, ge=1, le=100, description="failed logins before a lockout")
    lockout_minutes: int = Field(default=15, ge=1, description="how long a locked account stays locked")
    idle_timeout_minutes: int = Field(default=30, ge=1, description="a session idle this long ends")
    session_lifetime_hours: int = Field(default=12, ge=1, description="absolute session lifetime")
    password_max_age_days: int | None = Field(
        default=None, ge=1, description="force a password change after this many days (等保 profile: 90)"
    )
    totp_required_for_all: bool = Field(
        default=False, description="two-factor login for every staff account, not only administrators"
    )
    audit_retention_days: int = Field(default=180, description="audit records older than this may be pruned")
    key_file: Path | None = Field(
        default=None, description="personal-data keyring (JSON, 0600); default <data_dir>/keys/keyring.json"
    )
    tls_cert_file: Path | None = Field(
        default=None, description="TLS certificate (PEM); the prod profile needs it"
    )
    tls_key_file: Path | None = Field(default=None, description="TLS private key (PEM)")
    login_rate_per_minute: int = Field(
        default=10, ge=1, description="login attempts per address and username"
    )
    api_rate_per_minute: int = Field(default=600, ge=1, description="API requests per client address")
    alert_window_minutes: int = Field(default=15, ge=1, description="window the risk-warning rules count in")
    alert_login_failures: int = Field(
        default=5, ge=1, description="failed logins per user/address in a window"
    )
    alert_personal_data_views: int = Field(default=20, ge=1, description="full personal-data views per user")
    alert_remote_commands: int = Field(default=20, ge=1, description="remote-control commands per user")
    alert_malformed_frames: int = Field(default=100, ge=1, description="malformed frames per terminal")

    # metering assets: months between verifications (检定/轮换) or on-site inspections (现场检验) by meter
    # type. Assumed defaults, set them per province: single-phase smart meters 8 years and direct three-phase
    # meters 6 years from verification or installation (rotation practice under DL/T 448-2016), CT-connected
    # meters an on-site inspection every 12 months (DL/T 448 class II installation). See gridcare.mdm.assets.
    meter_verification_months: dict[str, int] = Field(
        default_factory=lambda: {"single_phase": 96, "three_phase_direct": 72, "three_phase_ct": 12},
        description="months between verifications per meter type",
    )

    @model_validator(mode="after")
    def _check_profile(self) -> Settings:
        if self.profile == "prod" and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("database_url: the prod profile needs a postgresql:// URL")
        if self.audit_retention_days < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"audit_retention_days: must be at least {MIN_AUDIT_RETENTION_DAYS} days "
                f"(audit logs are kept six months), got {self.audit_retention_days}"
            )
        for kind, months in self.meter_verification_months.items():
            if months < 1:
                raise ValueError(f"meter_verification_months.{kind}: must be at least 1 month, got {months}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            missing = "tls_key_file" if self.tls_key_file is None else "tls_cert_file"
            raise ValueError(f"{missing}: tls_cert_file and tls_key_file are set together")
        return self

    def check_can_serve(self) -> None:
        """Refuse to serve HTTP in a configuration that is unsafe for the profile (raises ConfigError).

        The prod profile needs TLS; a certificate or key that is named must exist.
        """
        if self.profile == "prod" and not self.tls_enabled:
            raise ConfigError(
                "tls_cert_file: the prod profile refuses to start without TLS (tls_cert_file, tls_key_file)"
            )
        for name in ("tls_cert_file", "tls_key_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name}: {path} not found")

    @property
    def tls_enabled(self) -> bool:
        """True when the server itself terminates TLS (cookies are then Secure and HSTS is sent)."""
        return self.tls_cert_file is not None and self.tls_key_file is not None

    @property
    def keyring_path(self) -> Path:
        """The keyring file in force (``key_file`` or ``<data_dir>/keys/keyring.json``)."""
        return self.key_file if self.key_file is not None else self.data_dir / "keys" / "keyring.json"

    @property
    def db_url(self) -> str:
        """The database URL in force (SQLite file under the data directory unless set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gridcare.db').as_posix()}"

    @property
    def lake_dir(self) -> Path:
        """Root of the Parquet readings lake."""
        return self.data_dir / "lake"


def _env_values(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ and environ[key] != "":
            values[name] = environ[key]
    return values


def _file_values(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return dict(raw.get("gridcare", raw))


def load_settings(
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from the TOML file, the environment and explicit overrides (CLI flags).

    The TOML file is ``config_file``, else ``$GRIDCARE_CONFIG``, else ``<data_dir>/gridcare.toml`` if present.
    Overrides whose value is None are ignored, so CLI options can be passed straight through.
    """
    env = dict(os.environ if environ is None else environ)
    flags = {k: v for k, v in overrides.items() if v is not None}
    env_values = _env_values(env)
    data_dir = Path(flags.get("data_dir") or env_values.get("data_dir") or "data")
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    if config_file is None and (data_dir / CONFIG_FILE_NAME).is_file():
        config_file = data_dir / CONFIG_FILE_NAME
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file}: not found")
    values = _file_values(config_file) if config_file else {}
    values.update(env_values)
    values.update(flags)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"{field}: {first['msg']}") from exc
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
