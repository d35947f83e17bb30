"""Which file holds which table: the demo's mix of formats, encodings and
header languages (one file per table, persons and permits split in two), and
city scale's Parquet plus a messy CSV supplement per table. Ingest defects go
into the CSV / Excel files (Parquet carries typed, valid rows only)."""
from __future__ import annotations

import numpy as np
import polars as pl

from .writer import FileSpec, Writer

FLIP = {"M": "F", "F": "M", "男": "女", "女": "男"}
FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def split(df: pl.DataFrame, fractions: list[float]) -> list[pl.DataFrame]:
    """Consecutive slices of df in the given proportions."""
    n = df.height
    cuts = np.round(np.cumsum([0.0] + fractions) / sum(fractions) * n).astype(int)
    return [df.slice(int(a), int(b - a)) for a, b in zip(cuts[:-1], cuts[1:])]


def persons_mutator(rng: np.random.Generator, mism_list: list[str]):
    """A hook for the persons files (as written): DQ-ID-MISMATCH people get a gender or birth date
    that disagrees with their ID (the ID wins); 8 % of the others leave both empty (they follow
    from the ID), never for passports (required there)."""
    mism = set(mism_list)

    def mutate(f: pl.DataFrame) -> pl.DataFrame:
        ids = f["id_number"].str.replace_all(" ", "").to_list()
        g, bd = f["gender"].to_list(), f["birth_date"].to_list()
        blank = (rng.random(f.height) < 0.08) & ~f["id_type"].is_in(["passport", "护照"]).to_numpy()
        for i, pid in enumerate(ids):
            norm = pid.translate(FULLWIDTH_DIGITS).upper()
            if norm in mism:
                j = mism_list.index(norm)
                if j % 2 == 0:
                    g[i] = FLIP.get(g[i], "F")
                else:
                    d = np.datetime64(f"{norm[6:10]}-{norm[10:12]}-{norm[12:14]}") + np.timedelta64(1 + j, "D")
                    bd[i] = str(d)
            elif blank[i]:
                g[i], bd[i] = "", ""
        return f.with_columns(gender=pl.Series(g), birth_date=pl.Series(bd))
    return mutate


def lay_out_demo(w: Writer, t: dict, side_contrib: pl.DataFrame, broken: dict, mutate) -> None:
    pa, pb = split(t["persons"], [0.6, 0.4])
    w.emit(FileSpec("employers", "聘用单位.xlsx", "xlsx", zh_headers=True, date_style="mixed", labels=0.7, money="wan",
                    sheet="聘用单位"), t["employers"], broken["employers"], dups=2)
    w.emit(FileSpec("persons", "persons.csv", "csv", "utf-8-sig", date_style="iso", bools=0, messy_ids=0.03), pa,
           broken["persons_a"], dups=3, mutate=mutate)
    w.emit(FileSpec("persons", "人员信息.csv", "csv", "gb18030", zh_headers=True, date_style="mixed", labels=0.8, bools=1,
                    messy_ids=0.05), pb, broken["persons_b"], dups=2, mutate=mutate)
    w.emit(FileSpec("employments", "employments.csv", "csv", "utf-8", date_style="slash", messy_ids=0.02),
           t["employments"], broken["employments"], dups=3)
    w.emit(FileSpec("work_history", "工作简历.csv", "csv", "gb18030", zh_headers=True, date_style="cn", messy_ids=0.02),
           t["work_history"], broken["work_history"], dups=3)
    w.emit(FileSpec("education_history", "education_history.xlsx", "xlsx", date_style="mixed", labels=0.5,
                    sheet="education_history"), t["education_history"], broken["education_history"], dups=2)
    w.emit(FileSpec("contributions", "个税社保_2026.csv", "csv", "utf-8", zh_headers=True, date_style="mixed", labels=0.5,
                    messy_ids=0.01), side_contrib, broken["contributions"], dups=4)
    w.emit(FileSpec("dependents", "随往人员.csv", "csv", "utf-8-sig", zh_headers=True, labels=1.0, bools=1, messy_ids=0.05),
           t["dependents"], broken["dependents"], dups=2)
    pm, ps = split(t["permits"], [0.97, 0.03])
    w.emit(FileSpec("permits", "permits.parquet", "parquet"), pm)
    w.emit(FileSpec("permits", "工作居住证_补录.csv", "csv", "gb18030", zh_headers=True, date_style="dot", labels=1.0), ps,
           broken["permits"], dups=1)
    w.emit(FileSpec("applications", "applications.csv", "csv", "utf-8", date_style="mixed", labels=0.3, messy_ids=0.02),
           t["applications"], broken["applications"], dups=3)
    w.emit(FileSpec("withholding_agents", "代扣代缴单位.csv", "csv", "utf-8-sig", zh_headers=True, date_style="cn",
                    labels=0.5), t["withholding_agents"], broken["withholding_agents"], dups=1)


CITY_SUPPLEMENTS = (("persons", "人员信息", "gb18030"), ("employments", "聘用关系", "utf-8-sig"),
                    ("work_history", "工作简历", "gb18030"), ("education_history", "教育培训简历", "utf-8"),
                    ("permits", "工作居住证", "gb18030"), ("applications", "业务申请", "utf-8-sig"))


def lay_out_city(w: Writer, t: dict, side_contrib: pl.DataFrame, broken: dict, mutate) -> None:
    w.emit(FileSpec("employers", "employers.csv", "csv", "gb18030", zh_headers=True, date_style="mixed", labels=0.7,
                    money="grouped"), t["employers"], broken["employers"], dups=20)
    side = 10_000
    for tab, alias, enc in CITY_SUPPLEMENTS:
        rows = broken["persons_a"] + broken["persons_b"] if tab == "persons" else broken[tab]
        extra = {"mutate": mutate} if tab == "persons" else {}
        df = t[tab]
        # the messy supplement holds the last rows (scenario people are generated last)
        w.emit(FileSpec(tab, f"{tab}.parquet", "parquet"), df.slice(0, df.height - side))
        w.emit(FileSpec(tab, f"{alias}_补录.csv", "csv", enc, zh_headers=True, date_style="mixed", labels=0.6, bools=1,
                        messy_ids=0.03), df.slice(df.height - side), rows, dups=5, **extra)
    w.emit(FileSpec("contributions", "个税社保_2026补录.csv", "csv", "utf-8", zh_headers=True, date_style="mixed", labels=0.5,
                    messy_ids=0.01), side_contrib, broken["contributions"], dups=4)
    w.emit(FileSpec("dependents", "随往人员.csv", "csv", "utf-8-sig", zh_headers=True, labels=1.0, bools=1, messy_ids=0.05),
           t["dependents"], broken["dependents"], dups=5)
    w.emit(FileSpec("withholding_agents", "代扣代缴单位.csv", "csv", "gb18030", zh_headers=True, date_style="mixed",
                    labels=0.5), t["withholding_agents"], broken["withholding_agents"], dups=2)
