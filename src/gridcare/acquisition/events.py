"""Terminal events (AFN0E F1 important events, ERC records): read, stored once, listed.

The master keeps, per terminal, the pointer up to which it has read; it asks for the records from there
and the terminal answers with as many as fit, its current counter EC1 and the pointer after the last
record sent. Records are stored with (terminal, ERC, time) unique, so reading one twice stores it once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gridcare.acquisition.channel import Priority, RequestFailed
from gridcare.acquisition.frontend import FrontEnd
from gridcare.acquisition.models import TerminalEvent
from gridcare.archives.models import Terminal
from gridcare.archives.scope import scoped
from gridcare.protocols import gdw1376
from gridcare.security.principal import Principal
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING, now_beijing, to_beijing

log = logging.getLogger("gridcare.events")

F_IMPORTANT = 1
MAX_ROUNDS = 32  # at most this many request/reply rounds per terminal per pass


def occurred_at(record: dict[str, Any]) -> datetime | None:
    """The event's time: the first time field of the record ("YYYY-MM-DD HH:MM", Beijing time)."""
    for key, value in record.items():
        if key.endswith("_time") and isinstance(value, str):
            try:
                return datetime.fromisoformat(value).replace(tzinfo=BEIJING)
            except ValueError:
                continue
    return None


class EventReader:
    """Reads new important events from every online terminal and stores them."""

    def __init__(self, frontend: FrontEnd, db: Database) -> None:
        self.frontend = frontend
        self.db = db
        self.pointers: dict[str, int] = {}

    async def read_all(self) -> int:
        """One pass over the online terminals; returns the number of new records stored."""
        results = await asyncio.gather(*(self.read_terminal(key) for key in list(self.frontend.sessions)))
        return sum(results)

    async def read_terminal(self, key: str) -> int:
        session = self.frontend.sessions.get(key)
        if session is None:
            return 0
        pm = self.pointers.get(key, 0)
        records: list[dict[str, Any]] = []
        for _ in range(MAX_ROUNDS):
            start = pm

            def build(seq: int, start: int = start) -> bytes:
                return gdw1376.build_event_request(
                    session.address, F_IMPORTANT, start, (start + 255) % 256, seq
                )

            try:
                replies = await session.channel.submit(build, Priority.BULK, timeout_s=15.0, label="AFN0E F1")
            except RequestFailed:
                break
            data = replies[0][0].units[0].items[0].data if replies[0][0].units else {}
            got = data.get("events") or []
            records.extend(got)
            pm = int(data.get("pn", pm))
            if not got or pm == int(data.get("ec1", pm)):
                break
        self.pointers[key] = pm
        if not records:
            return 0
        return await asyncio.to_thread(store_events, self.db, session.terminal.terminal_id, records)


def store_events(db: Database, terminal_id: int, records: list[dict[str, Any]]) -> int:
    """Insert the records not stored yet; returns how many were new."""
    now = now_beijing()
    rows = []
    for record in records:
        when = occurred_at(record) or now
        detail = {k: v for k, v in record.items() if k not in ("erc", "name")}
        rows.append(
            {
                "terminal_id": terminal_id,
                "erc": int(record["erc"]),
                "name": str(record.get("name", "")),
                "occurred_at": when,
                "received_at": now,
                "detail": detail,
            }
        )
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(TerminalEvent).on_conflict_do_nothing(
        index_elements=["terminal_id", "erc", "occurred_at"]
    )
    with db.engine.begin() as conn:
        result = conn.execute(stmt.returning(TerminalEvent.id), rows)
        return len(result.all())


def list_events(
    session: Session, principal: Principal, terminal_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Latest events of the terminals in scope (of one terminal if given), newest first."""
    stmt = (
        select(TerminalEvent, Terminal)
        .join(Terminal, Terminal.id == TerminalEvent.terminal_id)
        .where(scoped(Terminal.org_id, principal))
        .order_by(TerminalEvent.occurred_at.desc())
        .limit(limit)
    )
    if terminal_id is not None:
        stmt = stmt.where(TerminalEvent.terminal_id == terminal_id)
    return [
        {
            "terminal": t.address,
            "erc": e.erc,
            "name": e.name,
            "occurred_at": to_beijing(e.occurred_at).isoformat(),
            "detail": e.detail,
        }
        for e, t in session.execute(stmt)
    ]
