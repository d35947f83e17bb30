"""Load benchmark of `permits serve` (issue 17, item 7). Bounded: a fixed
number of requests per session and a time limit; prints medians and p95.

    .venv/bin/python -m pipelines.serve.bench [--site DIR] [--sessions 200] [--rounds 5] [--think 1.0]

Without ``--site`` a synthetic site of ``--employers`` employers is published
to a temporary folder. One employer account per session (round robin over the
employers; the accounts share one Argon2 hash, inserted directly, so setting up
does not cost 200 hashes), a real ``permits serve`` process on 127.0.0.1, and
``--sessions`` concurrent sessions, each its own httpx client with its own
cookie and connection: log in (not timed into the page figures), then
``--rounds`` times: GET its employer page, think, GET its todo.xlsx, think.
Think times are uniform in [0, 2 × --think] s, and so is each session's
start (all 200 are logged in and active together after the first ~2 s).
Latency = request sent → whole body received, as the client saw it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))] if xs else float("nan")


def _summary(xs: list[float]) -> dict:
    return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 1) if xs else None,
            "p95_ms": round(_pct(xs, 95) * 1000, 1), "p99_ms": round(_pct(xs, 99) * 1000, 1),
            "max_ms": round(max(xs) * 1000, 1) if xs else None}


def synthetic_site(base: Path, employers: int) -> Path:
    import datetime as dt

    import duckdb

    from reports.site import publish_site
    from reports.site.synthetic import build_synthetic_warehouse

    con = duckdb.connect(str(base / "wh.duckdb"))
    as_of = dt.date(2026, 6, 30)
    build_synthetic_warehouse(con, employers=employers, as_of=as_of, big_employer_rows=300)
    publish_site(con, base / "site", run_id="bench", as_of=as_of, background_cleanup=False)
    con.close()
    return base / "site"


def site_usccs(site: Path) -> list[str]:
    from pipelines.serve.sitefs import parse_directory

    found = sorted(parse_directory((site / "employers" / "index.html").read_bytes()))
    return [u for u in found if (site / "employers" / u / "todo.xlsx").is_file()]


def make_accounts(db: str, usccs: list[str], password: str) -> None:
    from pipelines.serve import accounts as A
    from pipelines.serve.db import open_db, users, utcnow

    engine = open_db(db)
    h, now = A.hash_secret(password), utcnow()
    with engine.begin() as c:
        c.execute(users.insert(), [dict(name_key=A.key(u), username=u, role="employer", scope=u, password_hash=h,
                                        disabled=False, created_at=now, updated_at=now) for u in usccs])
    engine.dispose()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children that were waited for."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


async def run_sessions(url: str, usccs: list[str], sessions: int, rounds: int, think: float, password: str,
                       max_seconds: float, seed: int = 7, on_measure=None) -> dict:
    import httpx

    rnd = random.Random(seed)
    lat = {"page": [], "todo.xlsx": [], "login": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def login(c: httpx.AsyncClient, uscc: str) -> None:
        t = time.perf_counter()
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = await c.post("/login", data={"username": uscc, "password": password, "csrf": csrf})
        lat["login"].append(time.perf_counter() - t)
        if r.status_code != 303:
            raise RuntimeError(f"login of {uscc} answered {r.status_code}")

    async def timed(c: httpx.AsyncClient, kind: str, path: str, expect: bytes) -> None:
        t = time.perf_counter()
        r = await c.get(path)
        body = r.content
        dt_ = time.perf_counter() - t
        if r.status_code != 200 or expect not in body[:4096]:
            errors.append(f"{path}: {r.status_code}")
        else:
            lat[kind].append(dt_)

    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=60) for _ in range(sessions)]
    who = [usccs[i % len(usccs)] for i in range(sessions)]
    try:
        sem = asyncio.Semaphore(20)   # logins: not part of the measured phase

        async def limited_login(c, u):
            async with sem:
                await login(c, u)
        t0 = time.perf_counter()
        await asyncio.gather(*(limited_login(c, u) for c, u in zip(clients, who)))
        login_s = time.perf_counter() - t0
        thinks = [[(rnd.uniform(0, 2 * think), rnd.uniform(0, 2 * think)) for _ in range(rounds)]
                  for _ in range(sessions)]

        starts = [rnd.uniform(0, 2 * think) for _ in range(sessions)]

        async def session(i: int) -> None:
            c, u = clients[i], who[i]
            await asyncio.sleep(starts[i])   # sessions arrive over one think period, not in one instant
            for a, b in thinks[i]:
                await timed(c, "page", f"/employers/{u}/", u.encode())
                await asyncio.sleep(a)
                await timed(c, "todo.xlsx", f"/employers/{u}/todo.xlsx", b"PK")
                await asyncio.sleep(b)
        if on_measure:
            on_measure()
        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(session(i) for i in range(sessions))), timeout=max_seconds)
        measured_s = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    n = len(lat["page"]) + len(lat["todo.xlsx"])
    return {"login_phase_s": round(login_s, 1), "measured_s": round(measured_s, 1), "requests": n,
            "requests_per_s": round(n / measured_s, 1), "errors": errors[:20], "error_count": len(errors),
            "login": _summary(lat["login"]), "page": _summary(lat["page"]), "todo.xlsx": _summary(lat["todo.xlsx"])}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, help="a published site (default: a synthetic one)")
    ap.add_argument("--employers", type=int, default=200, help="employers of the synthetic site")
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5, help="page + todo.xlsx pairs per session")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between requests, s (0: none)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--db", help="server database (default: a temporary SQLite file)")
    ap.add_argument("--max-seconds", type=float, default=300, help="hard limit of the measured phase")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here too")
    a = ap.parse_args(argv)
    password = "bench password 2026"
    with tempfile.TemporaryDirectory(prefix="permits-serve-bench-") as tmp:
        tmp = Path(tmp)
        site = a.site or synthetic_site(tmp, a.employers)
        usccs = site_usccs(site)[: a.sessions]
        db = a.db or str(tmp / "server.sqlite")
        make_accounts(db, usccs, password)
        port = _free_port()
        cmd = [str(REPO / ".venv" / "bin" / "permits"), "serve", "--site", str(site), "--db", db,
               "--port", str(port), "--workers", str(a.workers)]
        proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL)
        try:
            _wait_port(port, proc)
            mark = {}

            def on_measure():
                t = os.times()
                mark.update(load=os.getloadavg(), cpu=_cpu_seconds(proc.pid), client=t.user + t.system)
            res = asyncio.run(run_sessions(f"http://127.0.0.1:{port}", usccs, a.sessions, a.rounds, a.think,
                                           password, a.max_seconds, on_measure=on_measure))
            res["server_cpu_s"] = round(_cpu_seconds(proc.pid) - mark["cpu"], 1)
            t = os.times()
            res["client_cpu_s"] = round(t.user + t.system - mark["client"], 1)
            res["load_before"] = [round(x, 2) for x in mark["load"]]
            res["load_after"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            proc.send_signal(2)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        sizes = [(site / "employers" / u / "index.html").stat().st_size for u in usccs]
        wb = [(site / "employers" / u / "todo.xlsx").stat().st_size for u in usccs]
    res.update(sessions=a.sessions, employers=len(usccs), rounds=a.rounds, think_s=a.think, workers=a.workers,
               cpus=os.cpu_count(), page_bytes_median=int(statistics.median(sizes)), page_bytes_max=max(sizes),
               xlsx_bytes_median=int(statistics.median(wb)), db="postgresql" if (a.db or "").startswith("postgres")
               else "sqlite")
    _print(res)
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))
    return res


def _print(r: dict) -> None:
    print(f"permits serve load: {r['sessions']} concurrent sessions ({r['employers']} employer accounts), "
          f"{r['rounds']} rounds, think {r['think_s']} s mean, {r['workers']} worker(s), {r['db']}, "
          f"{r['cpus']} CPUs")
    print(f"load average before {r['load_before']}, after {r['load_after']}; server CPU {r['server_cpu_s']} s "
          f"(client {r['client_cpu_s']} s) in {r['measured_s']} s; {r['requests']} requests = {r['requests_per_s']}/s; errors {r['error_count']}")
    print(f"page bytes median {r['page_bytes_median']} (max {r['page_bytes_max']}), "
          f"todo.xlsx median {r['xlsx_bytes_median']}")
    print(f"{'what':<12}{'n':>7}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for k in ("page", "todo.xlsx", "login"):
        s = r[k]
        print(f"{k:<12}{s['n']:>7}{s['median_ms']:>11}{s['p95_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}")
    ok = r["page"]["p95_ms"] < 100 and r["todo.xlsx"]["p95_ms"] < 200 and r["error_count"] == 0
    print(f"targets (page p95 < 100 ms, todo.xlsx p95 < 200 ms, no errors): {'met' if ok else 'NOT met'}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"permits serve exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("permits serve did not start in 60 s")


if __name__ == "__main__":
    main()
