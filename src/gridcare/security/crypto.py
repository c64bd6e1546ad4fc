"""Encryption of personal data at rest: AES-256-GCM with keys kept outside the database.

Keys live in a keyring file (JSON, mode 0600, created on first use; ``Settings.keyring_path``). Each
stored value carries the id of the key that encrypted it: ``"<kid>:<nonce b64>:<ciphertext b64>"``, so a
key rotation (:func:`rotate_key`) can add a key, re-encrypt every value and later retire the old key.

Columns use :class:`EncryptedText`, which takes and returns ``str``: models and services keep working with
plain strings. Equal plaintexts give different ciphertexts (random nonce), so encrypted columns cannot be
searched or compared in SQL.

The keyring of a database is found through its engine: :func:`bind_keyring` binds one explicitly (the
app, the CLI); an SQLite database file without one uses ``<folder of the file>/keys/keyring.json``, which
is the default keyring path of an installation whose database is the embedded one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, Text, event, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NONCE_BYTES = 12
_TOKEN = re.compile(r"^(k[0-9a-f]{8}):([A-Za-z0-9+/]{16}):([A-Za-z0-9+/=]{24,})$")


class KeyringError(RuntimeError):
    """The keyring is missing, unreadable or lacks the key a value needs."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class Keyring:
    """Data-encryption keys by key id; ``active`` encrypts, every key decrypts."""

    path: Path | None
    active: str
    keys: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _mtime: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._mtime = self._file_mtime()

    def _file_mtime(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns if self.path is not None else 0
        except OSError:
            return 0

    def refresh(self) -> None:
        """Reload the file when another process (``gridcare admin rotate-key``) changed it."""
        if self.path is None or self._file_mtime() == self._mtime:
            return
        with self._lock:
            fresh = Keyring.open(self.path)
            self.keys, self.active, self._mtime = fresh.keys, fresh.active, fresh._mtime

    @staticmethod
    def new_kid() -> str:
        return "k" + secrets.token_hex(4)

    @classmethod
    def generate(cls, path: Path | None = None) -> Keyring:
        kid = cls.new_kid()
        return cls(path=path, active=kid, keys={kid: AESGCM.generate_key(bit_length=256)})

    @classmethod
    def open(cls, path: Path) -> Keyring:
        """Load the keyring at ``path``, creating it (0600, folder 0700) when absent."""
        path = Path(path)
        if not path.exists():
            ring = cls.generate(path)
            ring.save()
            return ring
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: _unb64(value) for kid, value in raw["keys"].items()}
            active = str(raw["active"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"key_file: {path} is not a readable gridcare keyring ({exc})") from exc
        if active not in keys or any(len(k) != 32 for k in keys.values()):
            raise KeyringError(f"key_file: {path} is damaged (active key missing or a key not 256-bit)")
        return cls(path=path, active=active, keys=keys)

    def save(self) -> None:
        """Write the keyring atomically with mode 0600."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        body = json.dumps(
            {"version": 1, "active": self.active, "keys": {k: _b64(v) for k, v in self.keys.items()}},
            indent=2,
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)
        self._mtime = self._file_mtime()

    def encrypt(self, plaintext: str) -> str:
        self.refresh()
        kid = self.active
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.keys[kid]).encrypt(nonce, plaintext.encode("utf-8"), kid.encode("ascii"))
        return f"{kid}:{_b64(nonce)}:{_b64(ciphertext)}"

    def decrypt(self, token: str) -> str:
        match = _TOKEN.match(token)
        if match is None:
            raise KeyringError("not an encrypted value")
        kid, nonce, ciphertext = match.groups()
        if kid not in self.keys:
            self.refresh()
        key = self.keys.get(kid)
        if key is None:
            where = self.path or "memory"
            raise KeyringError(f"key id {kid} is not in the keyring {where}; was the key file replaced?")
        try:
            return AESGCM(key).decrypt(_unb64(nonce), _unb64(ciphertext), kid.encode("ascii")).decode()
        except InvalidTag as exc:
            raise KeyringError(
                f"value under key id {kid} fails authentication (tampered or wrong key)"
            ) from exc

    def add_key(self) -> str:
        """Add a new key, make it active and save; returns its id. Old keys still decrypt."""
        with self._lock:
            kid = self.new_kid()
            while kid in self.keys:
                kid = self.new_kid()
            self.keys[kid] = AESGCM.generate_key(bit_length=256)
            self.active = kid
            self.save()
            return kid

    def retire(self, kids: set[str]) -> None:
        """Remove ``kids`` from the keyring (never the active one); values under them become unreadable."""
        with self._lock:
            for kid in kids - {self.active}:
                self.keys.pop(kid, None)
            self.save()


def is_encrypted(value: str | None) -> bool:
    """True when ``value`` has the stored form of an encrypted value."""
    return value is not None and _TOKEN.match(value) is not None


def key_id_of(value: str | None) -> str | None:
    match = _TOKEN.match(value or "")
    return match.group(1) if match else None


# -- which keyring a database uses ------------------------------------------------------------------

_bound: weakref.WeakKeyDictionary[Dialect, Keyring] = weakref.WeakKeyDictionary()
_by_path: dict[Path, Keyring] = {}
_registry_lock = threading.Lock()


def keyring_at(path: Path) -> Keyring:
    """The process-wide keyring object for the file at ``path`` (opened or created once)."""
    resolved = Path(path).resolve()
    with _registry_lock:
        ring = _by_path.get(resolved)
        if ring is None:
            ring = Keyring.open(resolved)
            _by_path[resolved] = ring
        return ring


def bind_keyring(engine: Engine, keyring: Keyring | Path) -> Keyring:
    """Make ``engine``'s encrypted columns use ``keyring`` (a Keyring or the path of its file)."""
    ring = keyring if isinstance(keyring, Keyring) else keyring_at(keyring)
    _bound[engine.dialect] = ring
    return ring


def keyring_of(engine: Engine) -> Keyring:
    """The keyring bound to ``engine`` (or the SQLite default one)."""
    _auto_bind(engine)
    return _keyring_for(engine.dialect)


def _sqlite_default_path(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / "keys" / "keyring.json"


_default_paths: weakref.WeakKeyDictionary[Dialect, Path] = weakref.WeakKeyDictionary()


def _auto_bind(engine: Engine) -> None:
    """Remember the SQLite default keyring path; it is opened (or created) on first use only."""
    if engine.dialect in _bound or engine.dialect in _default_paths:
        return
    path = _sqlite_default_path(engine)
    if path is not None:
        _default_paths[engine.dialect] = path


@event.listens_for(Engine, "engine_connect")
def _on_connect(conn: Connection) -> None:
    _auto_bind(conn.engine)


def _keyring_for(dialect: Dialect) -> Keyring:
    ring = _bound.get(dialect)
    if ring is None and dialect in _default_paths:
        ring = _bound[dialect] = keyring_at(_default_paths[dialect])
    if ring is None:
        raise KeyringError(
            "no keyring bound to this database: call gridcare.security.crypto.bind_keyring(engine, "
            "settings.keyring_path) after opening it"
        )
    return ring


class EncryptedText(TypeDecorator[str]):
    """A ``str`` column stored AES-GCM encrypted with the key id (see the module docstring).

    A stored value that is not in the encrypted form (written before encryption was switched on) reads
    back as it is; :func:`rotate_key` encrypts such values.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _keyring_for(dialect).encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or not is_encrypted(value):
            return value
        return _keyring_for(dialect).decrypt(value)


# -- key rotation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    values: int
    columns: tuple[str, ...]
    retired: tuple[str, ...]


def encrypted_columns() -> Iterator[tuple[Any, Any]]:
    """(table, column) for every EncryptedText column of every model."""
    from gridcare.storage.models import Base

    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                yield table, column


def key_ids_in_use(engine: Engine) -> set[str]:
    """Key ids that stored values are encrypted under (read from the raw column text)."""
    used: set[str] = set()
    with engine.connect() as conn:
        for _table, column in encrypted_columns():
            stored = type_coerce(column, Text())  # the stored text, not decrypted
            for (value,) in conn.execute(select(stored).where(column.is_not(None))):
                kid = key_id_of(value)
                if kid:
                    used.add(kid)
    return used


def rotate_key(engine: Engine, retire_old: bool = False, batch: int = 500) -> RotationReport:
    """Add a new key, re-encrypt every encrypted value under it (all-or-nothing) and optionally retire
    the keys no value uses any more."""
    ring = keyring_of(engine)
    old_kids = set(ring.keys)
    previous_active = ring.active
    new_kid = ring.add_key()
    count = 0
    names: list[str] = []
    try:
        with engine.begin() as conn:
            for table, column in encrypted_columns():
                names.append(f"{table.name}.{column.name}")
                pk = list(table.primary_key.columns)
                rows = conn.execute(select(*pk, column).where(column.is_not(None))).all()
                for start in range(0, len(rows), batch):
                    for row in rows[start : start + batch]:
                        key = {c.name: row[i] for i, c in enumerate(pk)}
                        stmt = update(table).values({column.name: row[-1]})
                        for c in pk:
                            stmt = stmt.where(c == key[c.name])
                        conn.execute(stmt)
                        count += 1
    except Exception:
        ring.active = previous_active  # the new key stays in the file, unused
        ring.save()
        raise
    retired: tuple[str, ...] = ()
    if retire_old:
        unused = old_kids - key_ids_in_use(engine) - {new_kid}
        ring.retire(unused)
        retired = tuple(sorted(unused))
    return RotationReport(new_key_id=new_kid, values=count, columns=tuple(names), retired=retired)
