"""Hostile-file memory benchmark (issue 19 item 1).

Generates three hostile inputs, each beside a small valid employers / persons
pair, runs the whole pipeline (``permits run``) on a folder with each, and
prints the peak RSS of the process tree (sampled every 50 ms from /proc) with
the exit code and what ``ingest_files`` says of the hostile file:

- ``bomb``: a ~5 MB .xlsx whose sheet inflates to > 1 GB;
- ``wide``: a ~14 MB CSV with a million columns;
- ``longline``: a 200 MB CSV line of short fields;
- ``wide_long_lines_allowed``: the wide CSV with the line limit raised to
  64 MiB, so that the column limit (checked record by record) stops it.

    .venv/bin/python -m assets.ingest.bench_hostile [--only bomb] [--keep DIR]

The pipeline is run with the policy's default ``ingest_limits``; the goal is a
peak under 2 GB for every case, with the file rejected by name and the run
going on.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from assets.ingest.xlsxraw import SHEET_HEAD, SHEET_TAIL  # noqa: F401 - the same writer as the tests

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-29"


def _valid_pair(folder: Path) -> None:
    """employers.csv and persons.csv that load cleanly (the run must go on)."""
    from stdnum.cn import ric, uscc

    body = "911101080000000"
    u = [f"{body}{n:02d}" for n in range(1, 4)]
    u = [b + uscc.calc_check_digit(b) for b in u]
    (folder / "employers.csv").write_text(
        "uscc,name,entity_type,district,established_on,registered_capital_cny\n"
        + "".join(f"{x},公司{i},enterprise,haidian,2015-01-01,1000000\n" for i, x in enumerate(u)), encoding="utf-8")
    ids = []
    for i in range(20):
        b = f"11010519900307{i:03d}"
        ids.append(b + ric.calc_check_digit(b + "0"))
    (folder / "persons.csv").write_text("id_number,name,highest_degree\n"
                                        + "".join(f"{x},人员{i},bachelor\n" for i, x in enumerate(ids)),
                                        encoding="utf-8")


def make_bomb(folder: Path, target_bytes: int = 1_100_000_000) -> Path:
    """An .xlsx whose one sheet inflates to ``target_bytes``: the same row over and over."""
    import zipfile

    from assets.ingest.xlsxraw import _CT, _CT_SHEET, _RELS, _WB, _WB_REL, _WB_RELS, _WB_SHEET

    path = folder / "contributions_bomb.xlsx"
    row = ("<row>" + '<c t="inlineStr"><is><t>110105199003070011</t></is></c>' * 6 + "</row>").encode()
    block = row * (4_000_000 // len(row))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", _CT.format(sheets=_CT_SHEET.format(i=1)))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB.format(sheets=_WB_SHEET.format(name="contributions", i=1)))
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS.format(rels=_WB_REL.format(i=1)))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(SHEET_HEAD.encode())
            fh.write(b"<row>" + b"".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>'.encode() for h in (
                "id_number", "month", "kind", "withholder_uscc", "base_cny", "paid_cny")) + b"</row>")
            written = 0
            while written < target_bytes:
                fh.write(block)
                written += len(block)
            fh.write(SHEET_TAIL.encode())
    return path


def make_wide(folder: Path, columns: int = 1_000_000) -> Path:
    """A CSV with a million columns (header and two records)."""
    path = folder / "persons_wide.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id_number,name," + ",".join(f"c{i}" for i in range(columns - 2)) + "\n")
        for _ in range(2):
            fh.write(",".join("12" for _ in range(columns)) + "\n")
    return path


def make_longline(folder: Path, size: int = 200_000_000) -> Path:
    """One 200 MB line of short fields under a normal header."""
    path = folder / "contributions_longline.csv"
    chunk = b"1," * (1 << 20)
    with open(path, "wb") as fh:
        fh.write(b"id_number,month,kind,withholder_uscc,base_cny,paid_cny\n")
        written = 0
        while written < size:
            fh.write(chunk)
            written += len(chunk)
        fh.write(b"1\n")
    return path


def make_none(folder: Path) -> Path:
    """Baseline: the valid pair alone (what the pipeline itself takes)."""
    return folder / "persons.csv"


CASES = {"baseline": make_none, "bomb": make_bomb, "wide": make_wide, "longline": make_longline,
         # the wide file again with the line limit raised (64 MiB): the column limit must stop it instead
         "wide_long_lines_allowed": make_wide}
RAISED = {"wide_long_lines_allowed": {"max_line_bytes": 64 << 20}}


def _tree_rss(pid: int) -> int:
    """RSS (bytes) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_case(name: str, work: Path) -> dict:
    folder = work / name / "input"
    folder.mkdir(parents=True)
    _valid_pair(folder)
    t = time.perf_counter()
    hostile = CASES[name](folder)
    made = time.perf_counter() - t
    site, wh = work / name / "site", work / name / "warehouse.duckdb"
    cmd = [str(Path(sys.executable).parent / "permits"), "run", "--input", str(folder), "--site", str(site),
           "--warehouse", str(wh), "--as-of", AS_OF]
    if name in RAISED:  # a policy file with some limits raised
        import yaml

        doc = yaml.safe_load((ROOT / "expectations" / "policy.yaml").read_text(encoding="utf-8"))
        doc["ingest_limits"].update(RAISED[name])
        policy = work / name / "policy.yaml"
        policy.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        cmd += ["--policy", str(policy)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = proc.communicate()
    done.set()
    th.join()
    seconds = time.perf_counter() - t
    status = message = "?"
    if wh.exists():
        import duckdb

        con = duckdb.connect(str(wh), read_only=True)
        try:
            got = con.execute("SELECT status, message FROM ingest_files WHERE source_file LIKE ?",
                              [hostile.name + "%"]).fetchall()
            status, message = got[0] if got else ("(no row)", "")
        finally:
            con.close()
    return {"case": name, "file": hostile.name, "file_mb": hostile.stat().st_size / 1e6, "make_s": made,
            "exit": proc.returncode, "seconds": seconds, "peak_gb": peak[0] / 1e9, "status": status,
            "message": message, "tail": out.decode("utf-8", "replace")[-600:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=sorted(CASES), action="append")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="permits-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    try:
        for name in args.only or list(CASES):
            r = run_case(name, work)
            ok = "OK " if r["peak_gb"] < 2 else "OVER"
            print(f"{ok} {r['case']:9s} {r['file']} ({r['file_mb']:.1f} MB): peak RSS {r['peak_gb']:.2f} GB, "
                  f"exit {r['exit']}, {r['seconds']:.1f} s; ingest_files: {r['status']} — {r['message'][:160]}")
            if r["exit"] != 0:
                print("   output tail:", r["tail"].replace("\n", "\n   "))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
