"""The database of one gridcare installation: engine, sessions and schema state."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive file lock on ``path`` (waits for other processes)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def open_database(settings: Settings, upgrade: bool = True) -> Database:
    """Open the installation's database, creating the data directory and migrating to head if asked."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    bind_keyring(engine, settings.keyring_path)  # personal data columns are encrypted with this key file
    if upgrade:
        with _exclusive(settings.data_dir / ".migrate.lock"):  # two commands starting at once migrate once
            migrate.upgrade(engine)
    return Database(engine=engine, sessions=make_session_factory(engine))
