"""Helpers of the notification tests: a small warehouse whose reminder items
are known exactly, day by day; a local SMTP server (aiosmtpd, plain, STARTTLS
or implicit TLS) and a local HTTP server playing the WeCom and DingTalk robots.
Everything listens on 127.0.0.1 only."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

D1, D2, D3 = dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 23)
A, B, C = "91110108MA00000A1X", "91110105MA00000B2Y", "91110106MA00000C3Z"
RAW_ID = "110105199003071234"  # an ID number that must never appear unmasked in a message
DEP_ID = "110105201001011238"
SECRET = "SEC-dingtalk-0123456789abcdef"
WECOM_KEY = "wecom-key-abcdef0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the warehouse of day 1 / 2 / 3
def build_warehouse(path: Path, day: dt.date) -> Path:
    """Marts as the pipeline would write them for ``day`` (only the columns notify reads)."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE employers (uscc VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO employers VALUES (?, ?)",
                    [(A, "北京甲科技有限公司"), (B, "北京乙软件有限公司"), (C, "北京丙研究所")])
    con.execute("CREATE TABLE employer_contacts (uscc VARCHAR, contact_name VARCHAR, email VARCHAR, channels VARCHAR, "
                "frequency VARCHAR)")
    con.executemany("INSERT INTO employer_contacts VALUES (?, ?, ?, ?, ?)", [
        (A, "张三", "zhang@a.example.cn", "wecom-a", "daily"),
        (B, "李四", "li@b.example.cn", "dingtalk-b", "weekly"),
        (C, "王五", "wang@c.example.cn", None, "daily"),
    ])
    con.execute("""CREATE TABLE todo_renewals (as_of DATE, uscc VARCHAR, id_number VARCHAR, id_number_masked VARCHAR,
                   name VARCHAR, permit_no VARCHAR, expires_on DATE, window_start DATE, window_end DATE,
                   window_state VARCHAR)""")
    ren = [(A, RAW_ID, "赵一", "PA1", "2026-12-10", "2026-11-10", "2027-01-10", "open"),
           (B, "110105198501011231", "钱二", "PB1", "2026-09-01", "2026-08-01", "2026-10-01", "lapsed")]
    if day >= D2:
        ren.append((A, "110105199202021232", "孙三", "PA2", "2026-12-17", "2026-11-17", "2027-01-17", "open"))
    con.executemany("INSERT INTO todo_renewals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(day, u, i, i[:6] + "********" + i[-4:], n, p, e, s, w, st) for u, i, n, p, e, s, w, st in ren])
    con.execute("""CREATE TABLE todo_failing_applications (as_of DATE, uscc VARCHAR, id_number VARCHAR,
                   id_number_masked VARCHAR, name VARCHAR, application_id VARCHAR, type VARCHAR, type_zh VARCHAR,
                   status VARCHAR, status_zh VARCHAR, rule_ids VARCHAR, reasons_zh VARCHAR, reasons_en VARCHAR)""")
    rules = "ELIG-PHOTO" if day == D1 else "ELIG-PHOTO,ELIG-TENURE-6M"
    con.execute("INSERT INTO todo_failing_applications VALUES (?, ?, ?, ?, ?, 'SA1', 'new', '新办', 'draft', '草稿', "
                "?, '照片不合格', 'photo rejected')", [day, A, RAW_ID, RAW_ID[:6] + "********" + RAW_ID[-4:], "赵一", rules])
    con.execute("CREATE TABLE permit_status (permit_no VARCHAR, holder_name VARCHAR, uscc VARCHAR)")
    con.executemany("INSERT INTO permit_status VALUES (?, ?, ?)",
                    [("PA1", "赵一", A), ("PA2", "孙三", A), ("PB1", "钱二", B), ("PB2", "周四", B), ("PB3", "吴五", B)])
    con.execute("""CREATE TABLE findings (run_id VARCHAR, as_of DATE, rule_id VARCHAR, severity VARCHAR,
                   entity_type VARCHAR, entity_key VARCHAR, uscc VARCHAR, id_number VARCHAR, due_on DATE,
                   message_zh VARCHAR, message_en VARCHAR, detail JSON)""")
    f = [("EMP-INSPECTION-OVERDUE", "warning", "employer", A, A, None, None, f"聘用单位 {A}:单位年检已逾期 INSPA",
          f"Employer {A}: annual inspection overdue INSPA"),
         ("EXP-DUE-90", "info", "permit", "PB2", B, "110105198601011233", "2026-12-01",
          "工作居住证 PB2 将于 2027-01-01 到期", "Permit PB2 expires on 2027-01-01"),
         ("EXP-LAPSED", "error", "permit", "PB1", B, "110105198501011231", None, "PB1 已过续签期", "PB1 lapsed"),
         ("ELIG-PHOTO", "error", "application", "SA1", A, RAW_ID, None, f"申请 SA1 照片不合格 {RAW_ID}",
          f"Application SA1 photo {RAW_ID}")]
    if day >= D2:
        f += [("NC-LEFT-NOT-CANCELLED", "error", "permit", "PB3", B, "110105198701011235", None,
               "工作居住证 PB3:持证人已离职,请办理注销 NCPB3", "Permit PB3: holder left; cancel it NCPB3"),
              ("DEP-SPOUSE-NO-CERT", "warning", "dependent", DEP_ID, C, DEP_ID, None,
               f"随往人员 {DEP_ID} 缺少结婚证 DEPC", f"Dependent {DEP_ID} without marriage certificate DEPC")]
    con.executemany("INSERT INTO findings VALUES ('r', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                    [(day, *r) for r in f])
    con.execute("CREATE TABLE employer_summary (uscc VARCHAR, permits_active INTEGER, permits_lapsed INTEGER)")
    con.executemany("INSERT INTO employer_summary VALUES (?, ?, ?)", [(A, 2, 0), (B, 3, 1), (C, 0, 0)])
    con.close()
    return path


# markers of the items, as they appear in the message lines
EXPECTED = {  # (day, recipient) -> markers of the items that digest must carry
    (D1, "A"): {"PA1", "SA1", "INSPA"},
    (D1, "B"): {"PB1", "PB2"},
    (D2, "A"): {"SA1", "PA2"},
    (D2, "C"): {"DEPC"},
    (D3, "B"): {"NCPB3"},
}
MARKERS = {"PA1", "PA2", "SA1", "INSPA", "PB1", "PB2", "NCPB3", "DEPC"}


def markers_in(text: str) -> set[str]:
    import re

    return {m for m in MARKERS if re.search(rf"(?<![A-Za-z0-9]){m}(?![A-Za-z0-9])", text)}


# ------------------------------------------------------------------ SMTP
class SmtpSink:
    """aiosmtpd on 127.0.0.1; ``security`` none | starttls | tls (self-signed certificate in ``tmp``);
    ``login`` = (user, password): AUTH required (over TLS), ``logins`` lists the users that logged in."""

    def __init__(self, tmp: Path, security: str = "none", on_message=None, login: tuple[str, str] | None = None):
        from aiosmtpd.controller import Controller

        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.on_message = on_message
        self.port = free_port()
        self.cafile = None
        kw = {}
        if security != "none":
            ctx, self.cafile = _server_tls(tmp)
            kw = {"ssl_context": ctx} if security == "tls" else {"tls_context": ctx, "require_starttls": True}
        self.logins: list[str] = []
        sink = self
        if login is not None:
            from aiosmtpd.smtp import AuthResult

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == login
                if ok:
                    sink.logins.append(login[0])
                return AuthResult(success=ok, handled=False)  # a refusal answers 535

            kw.update(authenticator=authenticator, auth_required=True)

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(envelope.original_content or envelope.content)
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                if sink.on_message is not None:
                    sink.on_message(len(sink.messages))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kw)
        self.controller.start()

    def parsed(self):
        return [message_from_bytes(m, policy=policy.default) for m in self.messages]

    def stop(self):
        self.controller.stop()


def _server_tls(tmp: Path):
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_pem), str(key_pem))
    return ctx, str(cert_pem)


# ------------------------------------------------------------------ WeCom / DingTalk
class RobotSink:
    """One local HTTP server for both robots: ``/wecom?key=…`` and ``/dingtalk?access_token=…&timestamp&sign``.
    Checks the DingTalk signature with ``SECRET``; ``fail`` = set of paths answering HTTP 500."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail: set[str] = set()
        self.bad_signatures = 0
        sink = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                rec = {"path": u.path, "query": q, "body": body, "signature_ok": None}
                if u.path == "/dingtalk":
                    ts, sign = q.get("timestamp", [""])[0], q.get("sign", [""])[0]
                    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
                    ok = bool(ts) and sign == base64.b64encode(mac).decode() and abs(time.time() * 1000 - int(ts)) < 3600e3
                    rec["signature_ok"] = ok
                    if not ok:
                        sink.bad_signatures += 1
                if u.path in sink.fail:
                    self.send_response(500)
                    self.end_headers()
                    sink.requests.append({**rec, "failed": True})
                    return
                sink.requests.append({**rec, "failed": False})
                data = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ok(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path and not r["failed"]]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(path: Path, smtp_port: int, robot_port: int, security: str = "none", cafile: str | None = None,
                 retries: int = 2, base_url: str = "https://permits.example.gov.cn") -> Path:
    smtp = {"host": "127.0.0.1", "port": smtp_port, "security": security,
            "from": "工作居住证提醒 <notify@permits.example.cn>"}
    if cafile:
        smtp["cafile"] = cafile
    cfg = {
        "base_url": base_url,
        "smtp": smtp,
        "channels": {
            "wecom-a": {"type": "wecom", "url": f"http://127.0.0.1:{robot_port}/wecom?key=${{TEST_WECOM_KEY}}"},
            "dingtalk-b": {"type": "dingtalk", "url": f"http://127.0.0.1:{robot_port}/dingtalk?access_token=tok",
                           "secret": "${TEST_DINGTALK_SECRET}"},
        },
        "bureau": {"email": ["bureau@permits.example.gov.cn"]},
        "retries": retries, "backoff_seconds": 0.01, "timeout_seconds": 5, "breaker_failures": 3,
    }
    import yaml

    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


ENV = {"TEST_WECOM_KEY": WECOM_KEY, "TEST_DINGTALK_SECRET": SECRET}
