"""Senders: SMTP (implicit TLS or STARTTLS; plain only to loopback), WeCom
group robot (markdown) and DingTalk robot (markdown, HMAC-SHA256 signed
request). Each ``send`` raises ``SendError`` with a message that names no URL
or secret (``NotifyConfig.scrub``); httpx's request logging is silenced, since
it would print the webhook URL.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
import time
import urllib.parse
from email.message import Message

import httpx

from reports.notify.config import Channel, NotifyConfig, Smtp

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class SendError(RuntimeError):
    """A delivery failed; the message is safe to store and show (no URL, no secret)."""


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), URL-encoded."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(mac).decode("ascii"))


def dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def chat_payload(channel: Channel, title: str, text: str) -> dict:
    if channel.type == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


class ChatSender:
    def __init__(self, cfg: NotifyConfig):
        self.cfg = cfg
        self.client = httpx.Client(timeout=cfg.timeout_seconds, trust_env=False, follow_redirects=False)

    def send(self, channel: Channel, payload: dict) -> None:
        url = dingtalk_url(channel.url, channel.secret) if channel.type == "dingtalk" else channel.url
        try:
            r = self.client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise SendError(f"{channel.type}: {type(exc).__name__}") from None
        if r.status_code != 200:
            raise SendError(f"{channel.type}: HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise SendError(f"{channel.type}: response is not JSON") from None
        if int(body.get("errcode", -1)) != 0:
            raise SendError(self.cfg.scrub(f"{channel.type}: errcode {body.get('errcode')} "
                                           f"{str(body.get('errmsg', ''))[:100]}"))

    def close(self) -> None:
        self.client.close()


class SmtpSender:
    """One SMTP connection for the run, opened on first use and reopened after an error."""

    def __init__(self, smtp: Smtp, cfg: NotifyConfig):
        self.smtp, self.cfg, self.cafile = smtp, cfg, smtp.cafile or None
        self.conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _open(self) -> smtplib.SMTP:
        s, t = self.smtp, self.cfg.timeout_seconds
        if s.security == "tls":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=t, context=self._context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=t)
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
        if s.username:
            conn.login(s.username, s.password)
        return conn

    def send(self, msg: Message) -> None:
        try:
            if self.conn is None:
                self.conn = self._open()
            refused = self.conn.send_message(msg)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self.close()
            code = getattr(exc, "smtp_code", None)
            raise SendError(self.cfg.scrub(f"smtp: {type(exc).__name__}{f' {code}' if code else ''}")) from None
        if refused:
            raise SendError("smtp: recipient refused")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.conn = None
