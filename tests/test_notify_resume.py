"""Kill-and-resume: ``permits notify`` runs as a real subprocess and is killed
(SIGKILL) while the SMTP server holds its third message; the next run resumes
from the outbox and every planned message arrives exactly once — the one in
flight is not sent again (it is marked ``uncertain``), the rest are sent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import duckdb

from core.serverdb import make_engine
from reports.notify import ledger as L
from reports.notify.config import load_config
from reports.notify.service import notify
from tests.notify_support import D1, ENV, RobotSink, SmtpSink, build_warehouse, write_config

REPO = Path(__file__).resolve().parent.parent
N_EXTRA = 8


def _warehouse(path: Path) -> Path:
    build_warehouse(path, D1)
    con = duckdb.connect(str(path))
    for i in range(N_EXTRA):
        u = f"9111010{i}MA0000{i:02d}EX"
        con.execute("INSERT INTO employers VALUES (?, ?)", [u, f"北京测试{i}号有限公司"])
        con.execute("INSERT INTO employer_contacts VALUES (?, ?, ?, NULL, 'daily')", [u, f"联系人{i}", f"hr{i}@x{i}.example.cn"])
        con.execute("INSERT INTO todo_renewals VALUES (?, ?, '110105199001011234', '110105********1234', '某人', ?, "
                    "DATE '2026-12-20', DATE '2026-11-20', DATE '2027-01-20', 'open')", [D1, u, f"PX{i}"])
    con.close()
    return path


def test_killed_mid_send_resumes_without_sending_anything_twice(tmp_path):
    wh = _warehouse(tmp_path / "wh.duckdb")
    box: dict = {}
    killed = threading.Event()

    def on_message(n: int) -> None:
        if n == 3 and "proc" in box:  # the child waits for our reply to its third message: kill it now
            os.kill(box["proc"].pid, signal.SIGKILL)
            killed.set()

    smtp, robots = SmtpSink(tmp_path, on_message=on_message), RobotSink()
    try:
        cfg_path = write_config(tmp_path / "notify.yaml", smtp.port, robots.port)
        db = tmp_path / "server.sqlite"
        env = {**os.environ, **ENV, "PYTHONPATH": str(REPO)}
        box["proc"] = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "notify", "--config", str(cfg_path), "--db", str(db),
             "--warehouse", str(wh), "--site", str(tmp_path / "no-site"), "--as-of", D1.isoformat()],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = box["proc"].communicate(timeout=120)
        assert killed.is_set(), out.decode(errors="replace")[-2000:]
        assert box["proc"].returncode == -signal.SIGKILL
        engine = make_engine(str(db))
        before = L.status_counts(engine)
        assert before.get("sent") == 2 and before.get("sending") == 1 and before.get("pending", 0) > 3, before
        total = sum(before.values())

        con = duckdb.connect(str(wh), read_only=True)
        s = notify(con, D1, load_config(cfg_path, env=ENV), engine)
        s_again = notify(con, D1, load_config(cfg_path, env=ENV), engine)
        con.close()
        assert s["digests_planned"] == 0 and s_again["channels"] == {}
        after = L.status_counts(engine)
        assert after == {"sent": total - 1, "uncertain": 1}
        ids = Counter(m["Message-ID"] for m in smtp.parsed())
        assert all(n == 1 for n in ids.values()), "no message twice"
        n_chat = len(robots.requests)
        assert len(ids) + n_chat == total, "every planned message arrived (the in-flight one once)"
        assert s["outbox"]["uncertain"] == 1
    finally:
        smtp.stop()
        robots.stop()
