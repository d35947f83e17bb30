"""A PostgreSQL server of the tests' own, on 127.0.0.1 only.

``ensure_postgres()`` finds Debian's PostgreSQL binaries
(/usr/lib/postgresql/<v>/bin), installing the ``postgresql`` package with
apt-get when missing (as root). ``PgCluster`` runs ``initdb`` + ``pg_ctl`` in a
temporary folder as a non-root user (the ``postgres`` system user when the
tests run as root), listening on a free port of 127.0.0.1 with its socket in
that folder, and stops and deletes it at the end. Nothing is left running.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

APT_LOCK = "/tmp/permits-apt.lock"


class PostgresSetupError(RuntimeError):
    pass


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def ensure_postgres() -> Path:
    b = _bindir()
    if b:
        return b
    if os.geteuid() != 0:
        raise PostgresSetupError("PostgreSQL is not installed and the tests are not root: "
                                 "run `sudo apt-get install -y postgresql`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = f"flock {APT_LOCK} sh -c 'apt-get update -q && apt-get install -y -q postgresql'"
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, timeout=1200)
    b = _bindir()
    if proc.returncode != 0 or not b:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
        raise PostgresSetupError(f"apt-get install postgresql exited {proc.returncode}: " + " | ".join(tail))
    return b


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self):
        self.bindir = ensure_postgres()
        self.dir = Path(tempfile.mkdtemp(prefix="permits-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
                pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.user = "postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if proc.returncode != 0:
            raise PostgresSetupError(f"{args[0]} exited {proc.returncode}: {(proc.stdout + proc.stderr)[-800:]}")
        return proc

    def start(self) -> "PgCluster":
        self._run("initdb", "-D", str(self.data), "-U", "permits", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "-N")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "-w", "-t", "60", "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://permits@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import sqlalchemy as sa

        name = "t_" + uuid.uuid4().hex[:12]
        eng = sa.create_engine("postgresql+psycopg://" + self.url()[len("postgresql://"):],
                               isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
