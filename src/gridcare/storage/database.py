"""The database of one gridcare installation: engine, sessions and schema state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridcare.config import Settings
from gridcare.security.crypto import bind_keyring
from gridcare.storage import migrate
from gridcare.storage.db import make_engine, make_session_factory


@dataclass
class Database:
    """Engine and session factory for ``settings.db_url``."""

    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, upgrade: bool = True) -> Database:
    """Open the installation's database, creating the data directory and migrating to head if asked."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    bind_keyring(engine, settings.keyring_path)  # personal data columns are encrypted with this key file
    if upgrade:
        migrate.upgrade(engine)
    return Database(engine=engine, sessions=make_session_factory(engine))
