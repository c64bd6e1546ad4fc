"""Settings precedence: defaults < TOML file < GRIDCARE_* environment < CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridcare.config import ConfigError, load_settings


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(environ={}, data_dir=tmp_path)
    assert s.profile == "dev"
    assert s.port == 8000
    assert s.db_url == f"sqlite:///{tmp_path.resolve().as_posix()}/gridcare.db"
    assert s.lake_dir == tmp_path.resolve() / "lake"


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    (tmp_path / "gridcare.toml").write_text('[gridcare]\nport = 9001\nhost = "0.0.0.0"\n', encoding="utf-8")
    env = {"GRIDCARE_DATA_DIR": str(tmp_path), "GRIDCARE_PORT": "9002"}
    s = load_settings(environ=env)
    assert (s.host, s.port, s.data_dir) == ("0.0.0.0", 9002, tmp_path.resolve())
    s = load_settings(environ=env, port=9003)
    assert s.port == 9003


def test_bad_value_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^port: "):
        load_settings(environ={"GRIDCARE_PORT": "eighty"}, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="no_such_setting"):
        (tmp_path / "x.toml").write_text("no_such_setting = 1\n", encoding="utf-8")
        load_settings(config_file=tmp_path / "x.toml", environ={}, data_dir=tmp_path)


def test_prod_needs_postgres(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"database_url: .*postgresql"):
        load_settings(environ={"GRIDCARE_PROFILE": "prod"}, data_dir=tmp_path)
    s = load_settings(
        environ={}, data_dir=tmp_path, profile="prod", database_url="postgresql+psycopg://x@h/db"
    )
    assert s.db_url.startswith("postgresql")


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})
