"""Synthetic ``employer_contacts`` (v2, issue 18): who at each employer receives
its reminders, written as a messy CSV with Chinese headers and a few injected
ingest defects, whose keys go into the answer key.

Self-contained on purpose (the main generator is large): ``write_contacts`` is
called once by ``generate`` with the logical employers and returns the key rows
and the file's counts.

- one contact per employer, a second one for about 20 %;
- e-mail for about 90 % of contacts (the others reach the employer by a chat
  channel only); chat channel names ``wecom-<last 6 of uscc>`` /
  ``dingtalk-<last 6 of uscc>`` for about a third (a notification configuration
  names the channels it knows; others are reported as unconfigured);
- frequency: about 70 % daily, 30 % weekly, written as code or Chinese label,
  some left empty (= daily);
- defects: DQ-BAD-REF (an e-mail that is not an address) and DQ-ORPHAN (an
  employer code that no employer row defines), 4 each; 2 exact duplicates.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

FILE_NAME = "单位联系人.csv"
HEADERS = {"uscc": "统一社会信用代码", "contact_name": "联系人", "email": "电子邮箱", "channels": "接收渠道",
           "frequency": "提醒频率"}
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
BAD_EMAILS = ["hr.example.cn", "人事部@", "hr@@example.cn", "hr@example"]
SEPARATORS = [",", "、", ";"]


def contacts_frame(usccs: list[str], seed: int) -> pl.DataFrame:
    """The logical contacts (what ingest should load), one or two per employer."""
    rng = np.random.default_rng([seed, 18])
    rows = []
    for i, u in enumerate(usccs):
        for k in range(1 + int(rng.random() < 0.2)):
            name = SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
            tail = u[-6:].lower()
            email = f"hr{k + 1}@e{tail}.example.cn" if rng.random() < 0.9 else None
            chans = []
            if rng.random() < 0.25 or email is None:
                chans.append(f"wecom-{tail}")
            if rng.random() < 0.12:
                chans.append(f"dingtalk-{tail}")
            sep = SEPARATORS[rng.integers(len(SEPARATORS))]
            f = rng.random()
            freq = "weekly" if f < 0.3 else "daily"
            rows.append({"uscc": u, "contact_name": name + ("" if k == 0 else "(备)"), "email": email,
                         "channels": sep.join(chans) or None, "frequency": freq, "_style": float(rng.random())})
    df = pl.DataFrame(rows, schema={"uscc": pl.String, "contact_name": pl.String, "email": pl.String,
                                    "channels": pl.String, "frequency": pl.String, "_style": pl.Float64})
    return df


def write_contacts(out: Path, usccs: list[str], seed: int,
                   new_uscc: Callable[[], str]) -> tuple[list[tuple[str, str]], dict[str, dict]]:
    """Write ``单位联系人.csv``; return (answer-key rows, {file name: counts})."""
    rng = np.random.default_rng([seed, 1818])
    df = contacts_frame(usccs, seed)
    label = {"daily": "每日", "weekly": "每周"}
    # as written: frequency as code, Chinese label, or empty when daily
    freq = [("" if (v == "daily" and s < 0.15) else (label[v] if s > 0.55 else v))
            for v, s in zip(df["frequency"].to_list(), df["_style"].to_list())]
    text = df.drop("_style").with_columns(pl.Series("frequency", freq)).fill_null("")
    rows = text.to_dicts()
    dup_at = sorted(rng.choice(len(rows), size=min(2, len(rows)), replace=False).tolist(), reverse=True)
    for i in dup_at:  # exact duplicates right after their original
        rows.insert(i + 1, dict(rows[i]))
    broken = [("DQ-BAD-REF", {"uscc": usccs[int(rng.integers(len(usccs)))], "contact_name": f"错误邮箱{i + 1}",
                              "email": e, "channels": "", "frequency": "每日"}) for i, e in enumerate(BAD_EMAILS)]
    broken += [("DQ-ORPHAN", {"uscc": new_uscc(), "contact_name": f"已注销单位联系人{i + 1}",
                              "email": f"hr@orphan{i + 1}.example.cn", "channels": "", "frequency": "daily"})
               for i in range(4)]
    key = []
    for rule, r in broken:
        pos = int(rng.integers(0, len(rows) + 1))
        rows.insert(pos, {**r, "_rule": rule})
    for i, r in enumerate(rows):
        if r.get("_rule"):
            key.append((r.pop("_rule"), f"{FILE_NAME}:{i + 1}"))
    frame = pl.DataFrame(rows, schema={c: pl.String for c in HEADERS}).rename(HEADERS)
    (Path(out) / FILE_NAME).write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode("utf-8"))
    n_dup = len(dup_at)
    files = {FILE_NAME: {"table": "employer_contacts", "rows": len(rows), "loaded": len(rows) - len(key) - n_dup,
                         "quarantined": len(key), "collapsed": n_dup}}
    return sorted(key), files
