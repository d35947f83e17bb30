"""Benchmark of ``permits notify --dry-run`` at city scale (issue 18: 50,000
employers within 2 minutes on 2 cores).

    python -m pipelines.notify_bench --warehouse /work/city/warehouse.duckdb \
        --site /work/city/site --repeat 3 [--workers 2] [--keep-out DIR]

Copies the warehouse into a temporary folder (the original is only read), adds
one ``employer_contacts`` row or two per employer with the synthetic
generator's contact model when the copy has none, writes a configuration that
defines every chat channel those contacts name (loopback URLs: a dry run sends
nothing), then runs the dry run ``--repeat`` times into fresh folders and
prints each run's phases (items + plan, writing .eml/.json with the
employer's todo.xlsx attached) and the median.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def prepare(warehouse: Path, work: Path, seed: int = 18) -> tuple[Path, int]:
    import duckdb

    from pipelines.synthetic.contacts import contacts_frame

    copy = work / "warehouse.duckdb"
    t = time.perf_counter()
    shutil.copyfile(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        have = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "employer_contacts" not in have:
            usccs = [r[0] for r in con.sql("SELECT uscc FROM employers ORDER BY uscc").fetchall()]
            df = contacts_frame(usccs, seed).drop("_style")  # noqa: F841 (read by DuckDB below)
            con.execute("CREATE TABLE employer_contacts AS SELECT * FROM df")
        n = con.sql("SELECT count(*) FROM employer_contacts").fetchall()[0][0]
        channels = [r[0] for r in con.sql(
            "SELECT DISTINCT trim(unnest(regexp_split_to_array(channels, '[,、;]'))) FROM employer_contacts "
            "WHERE channels IS NOT NULL").fetchall()]
    finally:
        con.close()
    import yaml

    cfg = {"base_url": "https://permits.example.gov.cn",
           "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none", "from": "工作居住证提醒 <notify@permits.example.cn>"},
           "channels": {c: ({"type": "wecom", "url": f"http://127.0.0.1:9/wecom?key=k-{c}"} if c.startswith("wecom")
                            else {"type": "dingtalk", "url": f"http://127.0.0.1:9/ding?access_token=t-{c}",
                                  "secret": f"s-{c}"}) for c in channels},
           "bureau": {"email": ["bureau@permits.example.gov.cn"]}}
    (work / "notify.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    print(f"prepared: warehouse copy + {n:,} contacts, {len(channels):,} chat channels in "
          f"{time.perf_counter() - t:.1f} s")
    return copy, n


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the forked writers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_once(copy: Path, work: Path, site: Path | None, as_of: dt.date | None, out: Path, workers: int,
             ledger: bool = False) -> dict:
    import duckdb

    from reports.notify import service
    from reports.notify.config import load_config

    cfg = load_config(work / "notify.yaml")
    con = duckdb.connect(str(copy), read_only=True)
    cpu0 = _cpu()
    try:
        day = as_of or con.sql("SELECT max(as_of) FROM findings").fetchall()[0][0]
        t0 = time.perf_counter()
        plan, stats = service.make_plan(con, day, cfg, None, dry_run=True)
        t1 = time.perf_counter()
    finally:
        con.close()
    files = service.write_dry_run(plan, cfg, site, out, workers=workers)
    t2 = time.perf_counter()
    cpu = _cpu() - cpu0
    ledger_s = None
    if ledger:  # what a real run does before sending: the whole plan in one transaction (fresh SQLite ledger)
        from core.serverdb import make_engine
        from reports.notify import ledger as L

        engine = make_engine(str(work / f"ledger-{out.name}.sqlite"))
        L.create(engine)
        t3 = time.perf_counter()
        run_id = L.start_run(engine, "bench", day)
        with engine.begin() as c:
            L.insert_plan(c, run_id, plan)
        ledger_s = time.perf_counter() - t3
        engine.dispose()
    return {"ledger_s": ledger_s, "cpu_s": cpu, "as_of": str(day), "digests": len(plan), "items": sum(len(d["items"]) for d in plan),
            "employers": len({d["uscc"] for d in plan}), "eml": files["eml_files"], "json": files["json_files"],
            "plan_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0,
            "contacts_without_channel": stats["contacts_without_channel"]}


def compare_email_builders(copy: Path, work: Path, site: Path | None, n: int = 300) -> None:
    """ms per message: the stdlib's modern ``EmailMessage`` API against the ``email.mime`` classes used."""
    from email.message import EmailMessage
    from email.policy import SMTP

    import duckdb

    from reports.notify import service
    from reports.notify.config import load_config
    from reports.notify.render import html_body, subject, text_body

    cfg = load_config(work / "notify.yaml")
    con = duckdb.connect(str(copy), read_only=True)
    try:
        day = con.sql("SELECT max(as_of) FROM findings").fetchall()[0][0]
        plan, _ = service.make_plan(con, day, cfg, None, dry_run=True)
    finally:
        con.close()
    d = max((x for x in plan if x.get("uscc")), key=lambda x: len(x["items"]))
    att = service._attachment(site, d["uscc"]) or b"x" * 8000

    def modern():
        m = EmailMessage(policy=SMTP)
        m["From"], m["To"], m["Subject"] = cfg.smtp.sender, "hr@x.example.cn", subject(d)
        m.set_content(text_body(d, "", True))
        m.add_alternative(html_body(d, "", True), subtype="html")
        m.add_attachment(att, maintype="application", subtype="octet-stream", filename="todo.xlsx")
        return m.as_bytes()

    def used():
        return service.build_email(d, cfg.smtp.sender, "hr@x.example.cn", "", att).as_bytes()

    out = {}
    for name, f in (("EmailMessage", modern), ("email.mime (used)", used)):
        t = time.perf_counter()
        for _ in range(n):
            f()
        out[name] = (time.perf_counter() - t) / n * 1000
    print(f"e-mail builder, {len(d['items'])}-item digest with todo.xlsx: "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in out.items())
          + f"; ratio {out['EmailMessage'] / out['email.mime (used)']:.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", type=Path, default=Path("/work/city/warehouse.duckdb"))
    ap.add_argument("--site", type=Path, default=Path("/work/city/site"))
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ledger", action="store_true", help="also time writing the plan into a fresh SQLite ledger")
    ap.add_argument("--keep-out", type=Path, default=None, help="keep the last run's messages here")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="notify-bench-") as tmp:
        work = Path(tmp)
        copy, n_contacts = prepare(a.warehouse, work)
        compare_email_builders(copy, work, a.site if a.site.exists() else None)
        runs = []
        for i in range(a.repeat):
            out = work / f"out-{i}"
            r = run_once(copy, work, a.site if a.site.exists() else None, a.as_of, out, a.workers, a.ledger)
            runs.append(r)
            print(f"run {i + 1}: as_of {r['as_of']}  {r['digests']:,} digests to {r['employers']:,} employers, "
                  f"{r['items']:,} items, {r['eml']:,} .eml + {r['json']:,} .json  |  items+plan {r['plan_s']:.1f} s, "
                  f"write {r['write_s']:.1f} s, total {r['total_s']:.1f} s (CPU {r['cpu_s']:.1f} s)"
                  + (f"  |  plan into a SQLite ledger {r['ledger_s']:.1f} s" if r["ledger_s"] is not None else ""),
                  flush=True)
            if a.keep_out and i == a.repeat - 1:
                shutil.copytree(out, a.keep_out, dirs_exist_ok=True)
            shutil.rmtree(out, ignore_errors=True)
        med = statistics.median(r["total_s"] for r in runs)
        each = ", ".join(f"{r['total_s']:.1f}" for r in runs)
        print(f"median total {med:.1f} s over {len(runs)} runs ({each}); "
              f"{n_contacts:,} contacts, workers {a.workers}; budget 120 s: {'OK' if med <= 120 else 'OVER'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
