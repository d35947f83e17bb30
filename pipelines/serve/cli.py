"""The commands `permits serve`, `permits users add|import|disable|enable|reset|list`
and `permits audit`; registered on the main app by ``register(app)``.
Heavy imports stay inside the commands."""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pipelines.console import console
from pipelines.console import fail as _fail

users_app = typer.Typer(help="服务账号 / accounts of `permits serve`", no_args_is_help=True)
DB_HELP = "服务数据库: SQLite 文件 (默认 data/server.sqlite) 或 postgresql://… / server database"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _engine(db: Optional[str]):
    from pipelines.serve.db import open_db

    try:
        return open_db(db)
    except Exception as exc:  # noqa: BLE001 - one clear line
        from core.serverdb import redacted

        _fail(f"cannot open the server database {redacted(db)}: {str(exc).splitlines()[0]}")


def _write_secret_file(path: Path, text: str) -> None:
    """Codes go to a file only its owner can read (never to a log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
        f.write(text)


def serve(
    site: Path = typer.Option(Path("data/site"), "--site", help="发布的网站文件夹 / the published site"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    certfile: Optional[Path] = typer.Option(None, "--certfile", help="TLS 证书 (PEM)"),
    keyfile: Optional[Path] = typer.Option(None, "--keyfile", help="TLS 私钥 (PEM)"),
    trusted_header: Optional[str] = typer.Option(None, "--trusted-header",
                                                 help="单点登录用户名请求头, 如 X-Remote-User / SSO user-name header"),
    trusted_proxy: list[str] = typer.Option([], "--trusted-proxy",
                                            help="可信反向代理地址 (CIDR, 可重复) / trusted proxy CIDR (repeatable)"),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn 工作进程数"),
    session_hours: float = typer.Option(12.0, "--session-hours", min=0.1),
) -> None:
    """Serve the published site behind a login: bureau, district and employer roles."""
    import ipaddress

    import uvicorn

    from core.serverdb import redacted
    from pipelines.serve.app import CONFIG_ENV, ServeConfig

    if not site.is_dir():
        _fail(f"site folder not found / 网站文件夹不存在: {site} (run `permits run` or `permits demo` first)")
    if bool(certfile) != bool(keyfile):
        _fail("--certfile and --keyfile go together")
    if trusted_header and not trusted_proxy:
        _fail("--trusted-header needs --trusted-proxy CIDR: the header is only believed from those addresses")
    for c in trusted_proxy:
        try:
            ipaddress.ip_network(c, strict=False)
        except ValueError:
            _fail(f"--trusted-proxy {c!r} is not an address or CIDR")
    _engine(db).dispose()   # fail early, with one line, when the database cannot be opened
    cfg = ServeConfig(site=str(site.resolve()), db=db, trusted_header=trusted_header,
                      trusted_proxies=list(trusted_proxy), tls=bool(certfile), session_hours=session_hours)
    os.environ[CONFIG_ENV] = cfg.to_env()
    scheme = "https" if certfile else "http"
    console.print(f"serving {site.resolve()} on {scheme}://{host}:{port}/ (database {redacted(db)})")
    uvicorn.run("pipelines.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                ssl_certfile=str(certfile) if certfile else None, ssl_keyfile=str(keyfile) if keyfile else None,
                proxy_headers=False, server_header=False, access_log=False, log_level="warning")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="用户名 (单位: 统一社会信用代码)"),
    role: str = typer.Option(..., "--role", help="bureau | district | employer"),
    district: Optional[str] = typer.Option(None, "--district", help="区代码 (district role), e.g. haidian"),
    uscc: Optional[str] = typer.Option(None, "--uscc", help="统一社会信用代码 (employer role; default: the user name)"),
    name: Optional[str] = typer.Option(None, "--name", help="显示名称 / display name"),
    email: Optional[str] = typer.Option(None, "--email"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码 / read the password from stdin"),
    sso: bool = typer.Option(False, "--sso", help="仅单点登录 (无密码) / single sign-on only, no password"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Add an account. Without --password-stdin or --sso a one-time activation code is printed once."""
    from pipelines.serve.accounts import AccountError, add_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    scope = district if role == "district" else uscc
    try:
        code = add_user(_engine(db), username, role, scope, password=password, display_name=name, email=email,
                        sso_only=sso)
    except AccountError as exc:
        _fail(str(exc))
    console.print(f"added {username} ({role})")
    if code:
        console.print(f"一次性激活码 / one-time activation code: {code}")


@users_app.command("import")
def users_import(
    csv_file: Path = typer.Argument(..., help="CSV: uscc, contact_name, email (或中文表头 统一社会信用代码, 联系人, 邮箱)"),
    out: Path = typer.Option(..., "--out", help="激活码 CSV (仅所有者可读) / CSV of activation codes to distribute"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """One employer account per row, each with a one-time activation code written to --out."""
    from pipelines.serve.accounts import AccountError, import_employers, iter_codes_csv

    if not csv_file.is_file():
        _fail(f"file not found: {csv_file}")
    try:
        rows = import_employers(_engine(db), csv_file)
    except AccountError as exc:
        _fail(str(exc))
    _write_secret_file(out, iter_codes_csv(rows))
    console.print(f"{len(rows)} employer accounts added; activation codes in {out} (mode 600): distribute them, "
                  f"then delete the file / 已创建 {len(rows)} 个单位账号, 激活码见 {out}")


def _set_disabled(username: str, db: Optional[str], disabled: bool) -> None:
    from pipelines.serve.accounts import AccountError, set_disabled

    try:
        set_disabled(_engine(db), username, disabled)
    except AccountError as exc:
        _fail(str(exc))
    console.print(f"{'disabled' if disabled else 'enabled'} {username}")


@users_app.command("disable")
def users_disable(username: str, db: Optional[str] = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Disable an account and end its sessions."""
    _set_disabled(username, db, True)


@users_app.command("enable")
def users_enable(username: str, db: Optional[str] = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, db, False)


@users_app.command("reset")
def users_reset(username: str, db: Optional[str] = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Clear the password, end the sessions and print a new one-time activation code."""
    from pipelines.serve.accounts import AccountError, reset_user

    try:
        code = reset_user(_engine(db), username)
    except AccountError as exc:
        _fail(str(exc))
    console.print(f"一次性激活码 / one-time activation code for {username}: {code}")


@users_app.command("list")
def users_list(db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
               fmt: str = typer.Option("table", "--format", help="table | csv")) -> None:
    """Every account: role, scope and state (never a password or code)."""
    import csv

    from pipelines.serve.accounts import list_users

    rows = []
    for u in list_users(_engine(db)):
        state = "disabled" if u.disabled else ("active" if u.has_password else
                                               ("pending activation" if u.pending_activation else "sso"))
        rows.append([u.username, u.role, u.scope or "", u.display_name or "", state])
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["username", "role", "scope", "name", "state"])
        w.writerows(rows)
        return
    t = Table("用户 / user", "角色 / role", "范围 / scope", "名称 / name", "状态 / state")
    for r in rows:
        t.add_row(*r)
    console.print(t)


def _since(value: Optional[str]) -> Optional[dt.datetime]:
    """YYYY-MM-DD[ HH:MM] in Beijing time, or a span like 2h / 7d; returned as naive UTC."""
    if not value:
        return None
    v = value.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if v[:-1].isdigit() and v[-1:] in units:
        return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=int(v[:-1]) * units[v[-1]])) \
            .replace(tzinfo=None)
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        _fail(f"--since must be YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (Beijing time) or a span like 2h / 7d, not {value!r}")
    if t.tzinfo is None:
        t = t.replace(tzinfo=BEIJING)
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None)


def audit(
    user: Optional[str] = typer.Option(None, "--user", help="只看此用户 / only this user"),
    since: Optional[str] = typer.Option(None, "--since", help="YYYY-MM-DD[ HH:MM] (北京时间) 或 2h / 7d"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="最近 N 条 / the last N records"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """The audit log: logins, failed logins, logouts, page views, downloads (times in Beijing time)."""
    import csv
    import json

    from pipelines.serve.audit import query

    rows = query(_engine(db), user=user, since=_since(since), limit=limit)
    cols = ["at", "username", "role", "event", "path", "status", "source", "detail"]
    for r in rows:
        r["at"] = r["at"].replace(tzinfo=dt.timezone.utc).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "json":
        print(json.dumps([{c: r[c] for c in cols} for r in rows], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] if r[c] is not None else "" for c in cols])
    elif fmt == "table":
        t = Table(*["时间 (UTC+8)", "用户", "角色", "事件", "路径", "状态", "来源", "说明"])
        for r in rows:
            t.add_row(*[str(r[c]) if r[c] is not None else "" for c in cols])
        console.print(t)
        console.print(f"{len(rows)} records")
    else:
        _fail(f"--format must be table, csv or json, not {fmt!r}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.command("audit")(audit)
