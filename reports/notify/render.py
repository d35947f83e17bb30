"""Digest texts: subject, plain text, HTML, chat markdown and the e-mail
message. Chinese first, with an English line under each Chinese one. A digest
(``d``) carries only its own employer's items (IDs already masked in ``items``).
"""
from __future__ import annotations

import datetime as dt
import html
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, format_datetime, make_msgid, parseaddr

from reports.notify.items import KINDS

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
WECOM_LIMIT = 4000  # bytes of markdown content (the robot accepts 4096)
DINGTALK_LIMIT = 15000
BUREAU = "bureau"


def link_for(base_url: str, uscc: str | None) -> str:
    """The employer's served page (``permits serve``): ``<base_url>/employers/<uscc>/``; empty without a base URL."""
    if not base_url:
        return ""
    return f"{base_url}/employers/{uscc}/" if uscc else f"{base_url}/"


def _groups(d: dict) -> list[tuple[str, str, list[dict]]]:
    out: dict[str, list[dict]] = {}
    for it in d["items"]:
        out.setdefault(it["kind"], []).append(it)
    order = list(KINDS) + [k for k in out if k not in KINDS]
    return [(k, *(KINDS.get(k) or ("汇总", "Summary")), out[k]) for k in order if k in out]


def headline(d: dict) -> tuple[str, str]:
    if d["recipient"] == BUREAU:
        return (f"工作居住证提醒每日汇总({d['as_of']})", f"Daily reminder summary ({d['as_of']})")
    parts = [(zh, en, len(g)) for _, zh, en, g in _groups(d)]
    zh = ",".join(f"{zh} {n} 项" for zh, _, n in parts)
    en = ", ".join(f"{en.lower()}: {n}" for _, en, n in parts)
    return zh, en


def subject(d: dict) -> str:
    if d["recipient"] == BUREAU:
        return f"【工作居住证】提醒每日汇总 {d['as_of']} / Daily reminder summary"
    n = len(d["items"])
    return f"【工作居住证】{d.get('employer_name') or d.get('uscc')}:{n} 项新提醒 {d['as_of']} / {n} new reminders"


def text_body(d: dict, link: str = "", attached: bool = False) -> str:
    zh, en = headline(d)
    lines = []
    if d["recipient"] != BUREAU:
        lines += [f"{d.get('contact_name') or ''} 您好:", f"Dear {d.get('contact_name') or 'HR officer'},", "",
                  f"{d.get('employer_name') or ''}({d.get('uscc')})自上次提醒以来有以下事项需要办理:{zh}。",
                  f"Since the last reminder, {d.get('employer_name') or d.get('uscc')} has: {en}.", ""]
    else:
        lines += [zh, en, ""]
    for _, kzh, ken, group in _groups(d):
        lines.append(f"■ {kzh} / {ken}({len(group)})")
        for it in group:
            lines.append(f"  • {it['line_zh']}")
            lines.append(f"    {it['line_en']}")
        lines.append("")
    if link:
        lines += [f"在线查看 / Open online: {link}", ""]
    if attached:
        lines += ["附件 todo.xlsx 为本单位完整待办清单。", "Attached: todo.xlsx, the employer's full to-do list.", ""]
    lines += ["此邮件由工作居住证数据工具自动发送,请勿直接回复。",
              "Sent automatically by the work residence permit toolkit; please do not reply."]
    return "\n".join(lines) + "\n"


def html_body(d: dict, link: str = "", attached: bool = False) -> str:
    e = html.escape
    zh, en = headline(d)
    out = ['<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>', e(subject(d)), "</title></head>",
           '<body style="font-family:sans-serif;font-size:14px;color:#222">']
    if d["recipient"] != BUREAU:
        out.append(f"<p>{e(d.get('contact_name') or '')} 您好:<br><span style='color:#666'>Dear "
                   f"{e(d.get('contact_name') or 'HR officer')},</span></p>")
        out.append(f"<p><b>{e(d.get('employer_name') or '')}</b>({e(str(d.get('uscc')))})自上次提醒以来:{e(zh)}。"
                   f"<br><span style='color:#666'>Since the last reminder: {e(en)}.</span></p>")
    else:
        out.append(f"<h2>{e(zh)}<br><small style='color:#666'>{e(en)}</small></h2>")
    for _, kzh, ken, group in _groups(d):
        out.append(f"<h3>{e(kzh)} <small style='color:#666'>{e(ken)}</small>({len(group)})</h3><ul>")
        for it in group:
            out.append(f"<li>{e(it['line_zh'])}<br><span style='color:#666'>{e(it['line_en'])}</span></li>")
        out.append("</ul>")
    if link:
        out.append(f'<p><a href="{e(link)}">在线查看本单位页面 / Open the employer page</a></p>')
    if attached:
        out.append("<p>附件 todo.xlsx 为本单位完整待办清单。<br><span style='color:#666'>Attached: todo.xlsx, "
                   "the employer's full to-do list.</span></p>")
    out.append("<p style='color:#888;font-size:12px'>此邮件由工作居住证数据工具自动发送,请勿直接回复。 / "
               "Sent automatically; please do not reply.</p></body></html>")
    return "".join(out)


def markdown(d: dict, link: str = "", limit: int = WECOM_LIMIT) -> tuple[str, str]:
    """(title, markdown) for a chat robot, cut to ``limit`` UTF-8 bytes with a note of what was left out."""
    title = subject(d)
    zh, en = headline(d)
    head = [f"### {title}", f"{zh}", f"> {en}", ""]
    tail = []
    if link:
        tail.append(f"[在线查看 / Open online]({link})")
    body: list[str] = []
    total = len(d["items"])
    shown = 0
    size = len("\n".join(head + tail).encode("utf-8")) + 200
    for _, kzh, ken, group in _groups(d):
        block = [f"**{kzh} / {ken}({len(group)})**"]
        for it in group:
            line = f"- {it['line_zh']}\n  {it['line_en']}"
            if size + len(line.encode("utf-8")) + len(block[0].encode("utf-8")) > limit:
                break
            block.append(line)
            size += len(line.encode("utf-8")) + 1
            shown += 1
        if len(block) > 1:
            size += len(block[0].encode("utf-8")) + 1
            body += block
    if shown < total:
        body.append(f"…另有 {total - shown} 项,请查看邮件或在线页面 / {total - shown} more in the e-mail or online")
    return title, "\n".join(head + body + [""] + tail)


def build_email(d: dict, sender: str, to: str, link: str = "", attachment: bytes | None = None,
                message_id: str | None = None, date: dt.datetime | None = None,
                text: str | None = None) -> MIMEMultipart:
    """multipart/mixed: (text/plain + text/html alternative) + todo.xlsx; UTF-8 bodies, the subject and
    display names RFC 2047-encoded. The stdlib's ``email.mime`` classes (compat32 policy), faster than
    ``EmailMessage`` (``pipelines/notify_bench.py`` prints both); tests parse the result with the modern parser."""
    attached = attachment is not None
    msg = MIMEMultipart("mixed")
    msg["From"] = _address(sender)
    msg["To"] = _address(to)
    msg["Subject"] = Header(subject(d), "utf-8")
    msg["Date"] = format_datetime(date or dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = message_id or make_msgid(domain="permits.notify")
    msg["Auto-Submitted"] = "auto-generated"
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText(text if text is not None else text_body(d, link, attached), "plain", "utf-8"))
    alt.attach(MIMEText(html_body(d, link, attached), "html", "utf-8"))
    msg.attach(alt)
    if attached:
        part = MIMEApplication(attachment, XLSX[1])
        part.add_header("Content-Disposition", "attachment", filename="todo.xlsx")
        msg.attach(part)
    return msg


def _address(value: str) -> str:
    """``Name <addr>`` with a non-ASCII display name RFC 2047-encoded; a bare address unchanged."""
    name, addr = parseaddr(value)
    return formataddr((name, addr), charset="utf-8") if name else addr
