"""The reminder status block of the site's index page.

The index template carries an empty ``<!--notify-status-->…<!--/notify-status-->``
slot; after a notify run the block is written into the published
``index.html`` in place (atomically: a temporary file renamed over it). It
shows counts and channel names only — never a URL, secret or address.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

BEGIN, END = "<!--notify-status-->", "<!--/notify-status-->"
_SLOT = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)

_STATUS = {"sent": ("提醒已发送", "Reminders sent"), "skipped": ("未发送提醒", "No reminders sent"),
           "failed-channels": ("部分提醒渠道发送失败", "Some reminder channels failed"),
           "error": ("提醒发送出错", "Reminder run failed")}


def status_html(status: str, summary: dict) -> str:
    e = html.escape
    zh, en = _STATUS.get(status, (status, status))
    cls = "warn" if status in ("failed-channels", "error") else "ok"
    out = [f'<section id="notify-status" class="notify-{cls}"><h2>提醒发送 <small>Reminders</small></h2>',
           f'<p id="notify-state" data-status="{e(status)}">{e(zh)} / {e(en)}']
    if summary.get("reason"):
        out.append(f" — {e(str(summary['reason']))}")
    if summary.get("error"):
        out.append(f" — {e(str(summary['error']))}")
    out.append("</p>")
    if "digests_planned" in summary:
        out.append(f"<p>本次计划 {int(summary['digests_planned'])} 份摘要、{int(summary.get('items_planned', 0))} 项 / "
                   f"planned {int(summary['digests_planned'])} digests, {int(summary.get('items_planned', 0))} items"
                   f"{' (dry run / 仅预览)' if summary.get('mode') == 'dry-run' else ''}</p>")
    chans = summary.get("channels") or {}
    if chans:
        out.append("<table><tr><th>渠道 Channel</th><th>已发送 Sent</th><th>失败 Failed</th>"
                   "<th>顺延 Deferred</th><th>错误 Error</th></tr>")
        for name, st in sorted(chans.items()):
            bad = st.get("failed") or st.get("deferred")
            out.append(f'<tr class="{"notify-failed" if bad else ""}"><td>{e(name)}</td><td>{int(st.get("sent", 0))}</td>'
                       f'<td>{int(st.get("failed", 0))}</td><td>{int(st.get("deferred", 0))}</td>'
                       f'<td>{e(str(st.get("error") or ""))}</td></tr>')
        out.append("</table>")
    outbox = summary.get("outbox") or {}
    if outbox.get("uncertain"):
        out.append(f"<p>送达未知(运行中断时正在发送,未重发)/ uncertain (run ended while sending, not resent): "
                   f"{int(outbox['uncertain'])}</p>")
    out.append("</section>")
    return "".join(out)


def patch_index(site_dir: Path, status: str, summary: dict) -> bool:
    """Write the status block into ``<site>/index.html``; False when there is no page or no slot."""
    page = Path(site_dir) / "index.html"
    if not page.is_file():
        return False
    text = page.read_text(encoding="utf-8")
    block = BEGIN + status_html(status, summary) + END
    if not _SLOT.search(text):
        return False
    tmp = page.with_name(f".{page.name}.notify-{os.getpid()}")
    tmp.write_text(_SLOT.sub(lambda _m: block, text, count=1), encoding="utf-8")
    os.replace(tmp, page)
    return True
