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

    @model_validator(mode="after")
    def _check_profile(self) -> Settings:
        if self.profile == "prod" and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("database_url: the prod profile needs a postgresql:// URL")
        return self

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
