"""The audit chain: records carry Beijing time and the previous hash; verify finds a changed, inserted or
deleted record; prune keeps the chain verifiable from an anchor."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gridcare.cli import app as cli_app
from gridcare.config import ConfigError, Settings, load_settings
from gridcare.security import audit
from gridcare.security.principal import Principal
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING

ALICE = Principal(username="alice", org_paths=("/1/",), user_id=7, org_id=1, source_address="10.1.2.3")
T0 = datetime(2026, 1, 10, 9, 30, tzinfo=BEIJING)


def _fill(db: Database, n: int = 5, start: datetime = T0) -> None:
    with db.sessions() as session:
        for i in range(n):
            audit.record(
                session,
                ALICE,
                "archive.edit",
                f"customer 000000000{i}",
                detail={"field": "tariff_code", "i": i},
                now=start + timedelta(minutes=i),
            )
        session.commit()


def _verify(db: Database) -> audit.VerifyReport:
    with db.sessions() as session:
        return audit.verify(session)


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_records_are_chained_with_beijing_time(database: Database) -> None:
    _fill(database, 3)
    with database.sessions() as session:
        rows = session.execute(
            text("SELECT seq, prev_hash, hash, source FROM audit_records ORDER BY seq")
        ).all()
        first = session.get(audit.AuditRecord, 1)
        assert first is not None
        fields = audit._fields(
            first.seq,
            first.occurred_at,
            first.actor,
            first.actor_id,
            first.org_id,
            first.action,
            first.object,
            first.result,
            first.source,
            first.detail,
            first.prev_hash,
        )
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[0].source == "10.1.2.3"
    assert fields["occurred_at"] == "2026-01-10T09:30:00.000000+08:00"
    report = _verify(database)
    assert (report.ok, report.checked, report.head_seq, report.head_hash) == (True, 3, 3, rows[2].hash)


def test_result_must_be_known(database: Database) -> None:
    with database.sessions() as session, pytest.raises(ValueError, match="result"):
        audit.record(session, ALICE, "x", result="maybe")


def test_changed_record_is_found(database: Database) -> None:
    _fill(database)
    _sql(database, "UPDATE audit_records SET actor='mallory' WHERE seq=3")
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "changed" in (report.reason or "")


def test_changed_and_rehashed_record_breaks_the_next_link(database: Database) -> None:
    _fill(database)
    with database.sessions() as session:
        rec = session.get(audit.AuditRecord, 2)
        assert rec is not None
        rec.result = "failure"
        rec.hash = audit.record_hash(rec)
        session.commit()
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "prev_hash" in (report.reason or "")


def test_deleted_record_is_found(database: Database) -> None:
    _fill(database)
    _sql(database, "DELETE FROM audit_records WHERE seq=2")
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert "missing (deleted)" in (report.reason or "")


def test_deleted_last_record_is_found(database: Database) -> None:
    _fill(database)
    _sql(database, "DELETE FROM audit_records WHERE seq=5")
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "deleted at the end" in (report.reason or "")


def test_inserted_record_is_found(database: Database) -> None:
    """A forged record appended with a correct link and hash, but past the recorded head."""
    _fill(database)
    with database.sessions() as session:
        head = session.get(audit.AuditRecord, 5)
        assert head is not None
        forged = audit.AuditRecord(
            seq=6,
            occurred_at=T0 + timedelta(hours=1),
            actor="alice",
            actor_id=7,
            org_id=1,
            action="auth.login",
            object="user alice",
            result="success",
            source="10.1.2.3",
            detail="{}",
            prev_hash=head.hash,
        )
        forged.hash = audit.record_hash(forged)
        session.add(forged)
        session.commit()
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert "past the recorded head" in (report.reason or "")


def test_record_inserted_in_the_middle_is_found(database: Database) -> None:
    """Renumber the tail to make room and slip a forged record in at 3."""
    _fill(database)
    for seq in (5, 4, 3):
        _sql(database, "UPDATE audit_records SET seq=:new WHERE seq=:old", new=seq + 1, old=seq)
    _sql(database, "UPDATE audit_state SET head_seq=6")
    with database.sessions() as session:
        prev = session.get(audit.AuditRecord, 2)
        assert prev is not None
        forged = audit.AuditRecord(
            seq=3,
            occurred_at=T0,
            actor="alice",
            actor_id=7,
            org_id=1,
            action="archive.edit",
            object="x",
            result="success",
            source="",
            detail="{}",
            prev_hash=prev.hash,
        )
        forged.hash = audit.record_hash(forged)
        session.add(forged)
        session.commit()
    report = _verify(database)
    assert (report.ok, report.first_bad_seq) == (False, 4)  # the moved record's hash covers its old seq


def test_prune_keeps_the_chain_verifiable(database: Database) -> None:
    old = datetime.now(BEIJING) - timedelta(days=400)
    _fill(database, 4, start=old)
    _fill(database, 2, start=datetime.now(BEIJING) - timedelta(days=10))
    with database.sessions() as session:
        with pytest.raises(ValueError, match="audit_retention_days: must be at least 180"):
            audit.prune(session, 90)
        report = audit.prune(session, 180, actor="cli:root")
        session.commit()
    assert (report.removed, report.anchor_seq) == (4, 4)
    after = _verify(database)
    assert (after.ok, after.anchor_seq, after.checked, after.head_seq) == (
        True,
        4,
        3,
        7,
    )  # 2 kept + the prune
    with database.sessions() as session:
        assert session.execute(text("SELECT min(seq) FROM audit_records")).scalar() == 5
        detail = session.execute(text("SELECT detail FROM audit_records WHERE seq=7")).scalar()
        assert '"anchor_seq":4' in detail and '"removed":4' in detail
    _sql(database, "DELETE FROM audit_records WHERE seq=5")  # deleting the first kept record is still seen
    assert _verify(database).first_bad_seq == 5


def test_prune_refuses_a_broken_chain(database: Database) -> None:
    _fill(database, 3, start=datetime.now(BEIJING) - timedelta(days=400))
    _sql(database, "UPDATE audit_records SET object='y' WHERE seq=2")
    with database.sessions() as session, pytest.raises(audit.AuditChainBroken, match="record 2"):
        audit.prune(session, 180)


def test_retention_setting_refuses_less_than_180_days(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="audit_retention_days: must be at least 180"):
        load_settings(environ={"GRIDCARE_AUDIT_RETENTION_DAYS": "30"}, data_dir=tmp_path)
    assert load_settings(environ={}, data_dir=tmp_path, audit_retention_days=365).audit_retention_days == 365


def test_cli_verify_and_prune(settings: Settings, database: Database) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir)]
    _fill(database, 3)
    ok = runner.invoke(cli_app, ["audit", "verify", *args])
    assert ok.exit_code == 0, ok.output
    assert "audit chain OK: 3 records" in ok.output
    _sql(database, "UPDATE audit_records SET detail='{}' WHERE seq=2")
    bad = runner.invoke(cli_app, ["audit", "verify", *args])
    assert bad.exit_code == 1
    assert "at record 2" in bad.output and "changed" in bad.output
    refused = runner.invoke(cli_app, ["audit", "prune", "--days", "30", *args])
    assert refused.exit_code == 2
    assert "audit_retention_days" in refused.output


def test_records_join_the_callers_transaction(database: Database) -> None:
    with database.sessions() as session:
        audit.record(session, ALICE, "bill.release", "bill run 2026-01")
        session.rollback()
    assert _verify(database).head_seq == 0
    with Session(database.engine) as session:
        audit.record(session, None, "auth.login", "user ghost", audit.FAILURE, "10.9.9.9")
        session.commit()
    assert _verify(database).ok
