"""The `permits` command. `run` and `demo` execute the Dagster job of
`pipelines.definitions` (the same graph the UI shows)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pipelines.console import console
from pipelines.console import fail as _fail

app = typer.Typer(help="北京市工作居住证 数据工具 / Beijing Work Residence Permit toolkit", no_args_is_help=True)

DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_SITE = Path("data/site")
DEMO_INPUT = Path("data/demo-input")
DEMO_SEED = 20261129
# `permits sql`: the query may read the warehouse and nothing else. External
# access off (no COPY TO, read_text/read_csv of files, ATTACH, http), no
# extension installed or loaded on demand, and the configuration locked so a
# query cannot SET it back (verified on duckdb 2.0.1: PermissionException).
SQL_CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
              "autoload_known_extensions": False, "lock_configuration": True}


def _dagster_home() -> Path:
    """DAGSTER_HOME shared by the CLI and the UI (runs queue one at a time)."""
    from pipelines.runner import ensure_dagster_home

    home = Path(os.environ.get("DAGSTER_HOME") or Path("data/dagster_home")).resolve()
    ensure_dagster_home(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_pipeline(input_dir: Path, as_of: Optional[str], warehouse: Path, site: Path,
                 policy: Optional[Path] = None, quiet: bool = False, backfill_days: int = 1,
                 wait: float = 0.0, accept_drop: Optional[list[str]] = None, snapshot: bool = False) -> dict:
    """Execute the Dagster job (once, or once per day of a backfill); returns
    the (last) run summary. Raises on failure."""
    from pipelines.runner import execute_backfill, execute_run

    _dagster_home()
    kw = dict(warehouse=warehouse.resolve(), site=site.resolve(), policy=policy.resolve() if policy else None,
              console=None if quiet else console, lock_timeout=wait, accept_drop=list(accept_drop or []),
              snapshot=snapshot)
    if backfill_days > 1:
        return execute_backfill(input_dir.resolve(), as_of, backfill_days, **kw)[-1]
    return execute_run(input_dir=input_dir.resolve(), as_of=as_of, **kw)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _input_entries(folder: Path) -> list[str]:
    """Names in the input folder that a run would look at (hidden files aside)."""
    try:
        return [n for n in os.listdir(folder) if not n.startswith(".")]
    except OSError as exc:
        _fail(f"cannot list the input folder / 无法读取输入文件夹: {folder}: {exc.strerror or exc}")
        return []


def _run_guarded(call) -> dict:
    """Run ``call`` and turn its failure into one clear line and an exit code:
    2 refused or failed, 130 interrupted (Ctrl-C)."""
    from pipelines.runner import RunInterrupted

    try:
        return call()
    except (KeyboardInterrupt, RunInterrupted) as exc:
        from pipelines.runner import _interrupted_message

        _fail(str(exc) if isinstance(exc, RunInterrupted) else _interrupted_message(False), code=130)
    except Exception as exc:  # one clear line, not a traceback
        _fail(_one_line(exc))
    return {}


@app.command()
def run(
    input: Path = typer.Option(..., "--input", help="输入文件夹 / folder of input files"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="评估基准日 YYYY-MM-DD (默认: 今天, 北京时间)"),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, "--warehouse", help="DuckDB 数据仓库文件"),
    site: Path = typer.Option(DEFAULT_SITE, "--site", help="发布的静态网站文件夹"),
    policy: Optional[Path] = typer.Option(None, "--policy", help="政策参数文件 (默认 expectations/policy.yaml)"),
    backfill_days: int = typer.Option(1, "--backfill-days", min=1,
                                      help="回填: 依次运行截至 --as-of 的 N 天 / run the N days ending at --as-of"),
    wait: float = typer.Option(0.0, "--wait", min=0,
                               help="数据仓库或网站被占用时最多等待秒数 / wait for a busy warehouse or site folder"),
    accept_drop: Optional[list[str]] = typer.Option(
        None, "--accept-drop",
        help="接受该表(或文件)的数据减少, 可重复 / accept a real drop in this table's rows or a rejected file "
             "(table or file name; repeatable)"),
    snapshot: bool = typer.Option(
        False, "--snapshot",
        help="过去日期的运行另存带日期的网站 <site>-<as_of>/ / for a day before the newest one run: also publish its "
             "own dated site snapshot (the live site stays at the newest day)"),
) -> None:
    """Ingest a folder, evaluate the rule book, build marts and publish the site."""
    from assets.guard import TABLE_ORDER
    from assets.publish import SiteDirError, check_site_dir
    from pipelines.runner import check_as_of

    if not input.is_dir():
        _fail(f"input folder not found / 输入文件夹不存在: {input}")
    if as_of:
        try:
            as_of = check_as_of(as_of)
        except ValueError as exc:
            _fail(str(exc))
    if not _input_entries(input):
        _fail(f"输入文件夹为空, 未运行 / the input folder is empty, nothing was run: {input.resolve()}")
    if policy and not policy.is_file():
        _fail(f"policy file not found / 政策参数文件不存在: {policy}")
    try:
        check_site_dir(site, input, warehouse)
    except SiteDirError as exc:
        _fail(str(exc))
    files = set(_input_entries(input))
    unknown = [a for a in accept_drop or [] if a not in TABLE_ORDER and a not in files]
    if unknown:
        _fail(f"--accept-drop {unknown[0]!r}: not a table or a file of the input folder / 不是数据表或输入文件; "
              f"tables: {', '.join(TABLE_ORDER)}")
    summary = _run_guarded(lambda: run_pipeline(input, as_of, warehouse, site, policy, backfill_days=backfill_days,
                                                wait=wait, accept_drop=accept_drop, snapshot=snapshot))
    _print_summary(summary)


@app.command()
def demo(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, "--warehouse"),
    site: Path = typer.Option(DEFAULT_SITE, "--site"),
    out: Path = typer.Option(DEMO_INPUT, "--out", help="演示数据文件夹"),
) -> None:
    """Generate the built-in demo data set and run the whole pipeline on it."""
    from pipelines.synthetic import generate as gen

    with console.status("生成演示数据 / generating demo data…"):
        info = gen(out, scale="demo", seed=DEMO_SEED)
    console.print(f"演示数据 / demo data: {out.resolve()} (as_of {info['reference_date']})")
    summary = _run_guarded(lambda: run_pipeline(out, info["reference_date"], warehouse, site))
    _print_summary(summary)


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="输出文件夹"),
    scale: str = typer.Option("demo", "--scale", help="demo | city"),
    seed: int = typer.Option(DEMO_SEED, "--seed"),
) -> None:
    """Write a synthetic input folder in the contract's formats."""
    from pipelines.synthetic import generate as gen

    if scale not in ("demo", "city"):
        _fail(f"--scale must be demo or city, not {scale!r}")
    with console.status(f"generating {scale} data…"):
        info = gen(out, scale=scale, seed=seed)
    console.print_json(json.dumps(info, ensure_ascii=False, default=str))


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL 查询"),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, "--warehouse"),
    format: str = typer.Option("table", "--format", help="table | csv | json"),
    limit: int = typer.Option(1000, "--limit", help="表格最多显示行数 (table format only)"),
) -> None:
    """Run an ad-hoc query on the warehouse. Read-only for everything: the
    query reads the warehouse and nothing else (no file read or written, no
    extension installed or loaded, no ATTACH, no SET)."""
    import duckdb

    from assets.warehouse import damaged_message, is_damage

    if not warehouse.is_file():
        _fail(f"warehouse not found / 数据仓库不存在: {warehouse} (run `permits demo` or `permits run` first)")
    try:
        con = duckdb.connect(str(warehouse), read_only=True, config=SQL_CONFIG)
    except duckdb.Error as exc:
        _fail(damaged_message(warehouse, exc) if is_damage(exc) else _one_line(exc))
    try:
        rel = con.sql(query)
        if rel is None:
            console.print("OK")
            return
        cols = rel.columns
        rows = rel.fetchall()
    except duckdb.Error as exc:
        con.close()
        if not (isinstance(exc, duckdb.PermissionException) or "locked" in str(exc) or "read-only" in str(exc)):
            _fail(damaged_message(warehouse, exc) if is_damage(exc) else _one_line(exc))
        _fail(f"只读查询: 不能读写文件、安装扩展、附加数据库或修改设置 / read-only query: files, extensions, ATTACH and "
              f"SET are not allowed ({_one_line(exc)})")
    finally:
        con.close()
    if format == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    elif format == "json":
        sys.stdout.write(json.dumps([dict(zip(cols, r)) for r in rows], ensure_ascii=False, default=str, indent=1) + "\n")
    elif format == "table":
        t = Table(*cols, show_lines=False)
        for r in rows[:limit]:
            t.add_row(*["" if v is None else str(v) for v in r])
        console.print(t)
        if len(rows) > limit:
            console.print(f"… {len(rows) - limit} more rows (use --limit or --format csv)")
    else:
        _fail("--format must be table, csv or json")


@app.command()
def ui(port: int = typer.Option(3000, "--port"), host: str = typer.Option("127.0.0.1", "--host")) -> None:
    """Start the Dagster web UI for workspace.yaml on 127.0.0.1."""
    _dagster_home()
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(root / "workspace.yaml"), "-h", host, "-p", str(port)]
    console.print(f"Dagster UI: http://{host}:{port}  (Ctrl-C 停止)")
    proc = subprocess.Popen(cmd, cwd=Path.cwd(), start_new_session=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@app.command()
def bench(
    out: Path = typer.Option(Path("bench-output"), "--out", help="数据缓存与结果文件夹"),
    fractions: str = typer.Option("0.1,0.25,1", "--fractions", help="城市规模的比例, 逗号分隔"),
    repeats: int = typer.Option(3, "--repeats", help="每个规模运行次数 (取中位数)"),
    seed: int = typer.Option(DEMO_SEED, "--seed"),
    keep: bool = typer.Option(False, "--keep", help="保留各次运行的数据仓库与网站 (out/work/) / keep the runs' warehouses and sites"),
) -> None:
    """City-scale benchmark: per-step wall/CPU/peak memory, DuckDB floor, growth (not a test)."""
    from pipelines.bench import bench as run_bench

    _dagster_home()
    fr = [float(x) for x in fractions.split(",") if x.strip()]
    report = run_bench(out.resolve(), fr, repeats, seed, log=console.print, keep=keep)
    for scale, r in report["scales"].items():
        t = Table(f"step (scale {scale}, median of {repeats})", "wall s", "CPU s", "peak RSS MB")
        for name, v in r["median"]["steps"].items():
            t.add_row(name, f"{v['wall_s']:.2f}", f"{v['cpu_s']:.2f}", f"{v['peak_rss_mb']:.0f}")
        tot = r["median"]["total"]
        t.add_row("[b]total[/b]", f"{tot['wall_s']:.2f}", f"{tot['cpu_s']:.2f}", f"{tot['peak_rss_mb']:.0f}")
        t.add_row("DuckDB floor (scan + group-by)", f"{r['floor']['wall_s']:.2f}", f"{r['floor']['cpu_s']:.2f}", "")
        ck = r["median"].get("checklists")
        if ck:  # issue 16 item 6: what the material checklists add to the marts + site steps
            t.add_row(f"checklists: marts {ck['marts_s']:.2f} + pages {ck['pages_s']:.2f} s "
                      f"({ck.get('share', 0):.0%} of marts + site)", f"{ck['total_s']:.2f}",
                      f"{(ck.get('marts_cpu_s') or 0) + (ck.get('pages_cpu_s') or 0):.2f}", "")
        console.print(t)
    if "growth" in report:
        console.print(f"growth of total wall time vs smallest scale: {report['growth']}")
    console.print(f"figures: {out.resolve() / 'bench.json'}")


def _print_summary(summary: dict) -> None:
    t = Table("项目 / item", "值 / value")
    for k, v in summary.items():
        t.add_row(str(k), str(v))
    console.print(t)


from pipelines.serve.cli import register as _register_serve  # noqa: E402  serve, users, audit (issue 17)

_register_serve(app)

from pipelines.notify_cli import notify as _notify  # noqa: E402  (issue 18)

app.command("notify")(_notify)

if __name__ == "__main__":
    app()
