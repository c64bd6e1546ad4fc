"""A throw-away PostgreSQL cluster on loopback for the integration tests.

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port, and is stopped and removed
afterwards. initdb refuses to run as root, so under root the server runs as the ``postgres`` OS user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """Directory with initdb/pg_ctl: $GRIDCARE_PG_BINDIR, PATH, or Debian's /usr/lib/postgresql/N/bin."""
    if os.environ.get("GRIDCARE_PG_BINDIR"):
        return Path(os.environ["GRIDCARE_PG_BINDIR"])
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresUnavailable("PostgreSQL server binaries not found (install the postgresql package)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """Start a cluster and yield a SQLAlchemy URL to its ``gridcare`` database; stop it afterwards."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="gridcare-pg-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
    run = {"check": True, "capture_output": True, "text": True}
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "gridcare",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "gridcare", "gridcare"],
            **run,  # type: ignore[call-overload]
        )
        yield f"postgresql+psycopg://gridcare@127.0.0.1:{port}/gridcare"
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
