"""Personal data encrypted at rest (AES-GCM, key id with each value), key file outside the database,
key rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from gridcare.archives.models import Customer
from gridcare.cli import app as cli_app
from gridcare.config import Settings
from gridcare.security import crypto
from gridcare.security.crypto import Keyring, KeyringError
from gridcare.storage.database import Database

PHONE = "13812341234"
ID_NUMBER = "330102199001011234"


def _raw(db: Database, column: str = "phone", customer_no: str = "0000000001") -> str:
    with db.engine.connect() as conn:
        value: str = conn.execute(
            text(f"SELECT {column} FROM customers WHERE customer_no = :n"), {"n": customer_no}
        ).scalar_one()
        return value


def test_raw_columns_hold_no_personal_data(settings: Settings, archive: Database) -> None:
    raw = {c: _raw(archive, c) for c in ("phone", "id_number", "address")}
    assert PHONE not in raw["phone"] and "1234" not in raw["phone"]
    assert ID_NUMBER not in raw["id_number"]
    assert "杭州" not in raw["address"]
    ring = crypto.keyring_at(settings.keyring_path)
    for value in raw.values():
        kid, nonce, ciphertext = value.split(":")
        assert kid == ring.active
        assert len(nonce) == 16 and ciphertext
    assert _raw(archive, "phone", "0000000002") != raw["phone"]  # same phone, different nonce
    with archive.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.customer_no == "0000000001"))
        assert customer is not None
        assert (customer.phone, customer.id_number) == (PHONE, ID_NUMBER)
        assert customer.address == "浙江省杭州市上城区解放路1号"


def test_key_file_is_private_and_outside_the_database(settings: Settings, archive: Database) -> None:
    path = settings.keyring_path
    assert path == settings.data_dir / "keys" / "keyring.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    body = json.loads(path.read_text())
    assert body["active"] in body["keys"]
    db_bytes = (settings.data_dir / "gridcare.db").read_bytes()
    assert body["keys"][body["active"]].encode() not in db_bytes


def test_tampered_value_and_missing_key_fail_loudly(tmp_path: Path) -> None:
    ring = Keyring.generate(tmp_path / "k.json")
    token = ring.encrypt(PHONE)
    assert ring.decrypt(token) == PHONE
    kid, nonce, ciphertext = token.split(":")
    flipped = ciphertext[:-3] + ("A" if ciphertext[-3] != "A" else "B") + ciphertext[-2:]
    with pytest.raises(KeyringError, match="fails authentication"):
        ring.decrypt(f"{kid}:{nonce}:{flipped}")
    other = Keyring.generate()
    with pytest.raises(KeyringError, match="not in the keyring"):
        other.decrypt(token)
    # the key id is authenticated too: moving a value under another id fails
    other.keys[kid] = other.keys[other.active]
    with pytest.raises(KeyringError):
        other.decrypt(token)


def test_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text("{not json")
    with pytest.raises(KeyringError, match="key_file"):
        Keyring.open(path)


def test_rotate_key_reencrypts_everything(settings: Settings, archive: Database) -> None:
    ring = crypto.keyring_at(settings.keyring_path)
    old = ring.active
    before = _raw(archive)
    report = crypto.rotate_key(archive.engine)
    assert report.new_key_id != old and ring.active == report.new_key_id
    assert report.values == 4 * 3  # four customers x three columns (no TOTP secrets yet)
    assert set(report.columns) >= {"customers.phone", "customers.id_number", "customers.address"}
    after = _raw(archive)
    assert after != before and after.startswith(report.new_key_id + ":")
    assert crypto.key_ids_in_use(archive.engine) == {report.new_key_id}
    with archive.sessions() as session:
        phones = set(session.scalars(select(Customer.phone)))
    assert phones == {PHONE}
    assert old in json.loads(settings.keyring_path.read_text())["keys"]  # kept unless retired


def test_rotate_key_cli_retires_the_old_key(settings: Settings, archive: Database) -> None:
    old = crypto.keyring_at(settings.keyring_path).active
    result = CliRunner().invoke(
        cli_app, ["admin", "rotate-key", "--retire-old", "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    keys = json.loads(settings.keyring_path.read_text())
    assert list(keys["keys"]) == [keys["active"]] and keys["active"] != old
    assert "12 values re-encrypted" in result.output
    with archive.sessions() as session:
        assert session.scalar(select(Customer.phone).where(Customer.customer_no == "0000000004")) == PHONE
        action = session.execute(text("SELECT action FROM audit_records ORDER BY seq DESC")).scalars().first()
    assert action == "key.rotate"


def test_values_written_before_encryption_are_read_and_then_encrypted(
    settings: Settings, archive: Database
) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE customers SET phone='13900001111' WHERE customer_no='0000000003'"))
    with archive.sessions() as session:
        assert (
            session.scalar(select(Customer.phone).where(Customer.customer_no == "0000000003"))
            == "13900001111"
        )
    crypto.rotate_key(archive.engine)
    assert crypto.is_encrypted(_raw(archive, "phone", "0000000003"))
    with archive.sessions() as session:
        assert (
            session.scalar(select(Customer.phone).where(Customer.customer_no == "0000000003"))
            == "13900001111"
        )


def test_another_process_rotating_is_picked_up(settings: Settings, archive: Database) -> None:
    """A running server reloads the keyring file when `gridcare admin rotate-key` changed it."""
    ring = crypto.keyring_at(settings.keyring_path)
    stale = Keyring.open(settings.keyring_path)  # what another process loaded earlier
    fresh_kid = ring.add_key()
    token = ring.encrypt(PHONE)
    assert stale.decrypt(token) == PHONE
    assert stale.active == fresh_kid
