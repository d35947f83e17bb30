"""The ingest rules' quarantine reasons and findings rows (vectorised), and
the rule-book entries they are rendered from. ID-like values are masked and
control characters shown as ``<U+0000>``.
"""
from __future__ import annotations

import datetime as dt
import logging
import string
from pathlib import Path

import polars as pl

from core.contract import USCC_COLUMNS, Table
from core.masking import mask_id_expr
from assets.ingest.textcodec import visible


log = logging.getLogger(__name__)


RECORD_RULES = ["DQ-REQUIRED", "DQ-BAD-ID", "DQ-BAD-USCC", "DQ-BAD-DATE", "DQ-BAD-ENUM", "DQ-BAD-NUMBER",
                "DQ-DATE-ORDER", "DQ-DUP-KEY", "DQ-ORPHAN", "DQ-BAD-REF"]


OWNED_RULES = RECORD_RULES + ["DQ-ID-MISMATCH"]


RULES_FILE = Path(__file__).resolve().parent.parent.parent / "expectations" / "rules" / "ingest.yaml"


# Short reason per rule (quarantine.reasons), zh / en; {column} {value} filled per failure.
REASONS = {
    "DQ-REQUIRED": ("必填列「{column}」为空", "required column '{column}' is empty"),
    "DQ-BAD-ID": ("证件号码「{value}」未通过校验", "ID number '{value}' fails the check of its document type"),
    "DQ-BAD-USCC": ("统一社会信用代码「{value}」未通过校验", "USCC '{value}' fails the GB 32100 check"),
    "DQ-BAD-DATE": ("「{column}」日期「{value}」无效或超出范围", "'{column}' date '{value}' unparseable or out of range"),
    "DQ-BAD-ENUM": ("「{column}」取值「{value}」不在代码表中", "'{column}' value '{value}' is not a code or label"),
    "DQ-BAD-NUMBER": ("「{column}」数值「{value}」无效或为负数", "'{column}' value '{value}' is not a non-negative number"),
    "DQ-DATE-ORDER": ("日期顺序错误「{column}」=「{value}」", "dates out of order '{column}' = '{value}'"),
    "DQ-DUP-KEY": ("主键「{column}」=「{value}」重复且内容冲突", "key '{column}' = '{value}' duplicated with conflicting values"),
    "DQ-ORPHAN": ("「{column}」=「{value}」引用的人员或单位未载入", "'{column}' = '{value}' refers to nothing loaded"),
    "DQ-BAD-REF": ("「{column}」=「{value}」不是有效的引用(规则编号或电子邮箱)",
                   "'{column}' = '{value}' is not a valid reference (rule id or e-mail address)"),
}


def waivable_rule_ids() -> set[str]:
    """Rule ids a waiver may name (v2): every rule of the rule book but the
    record rules of ingest (DQ-BAD-*, DQ-REQUIRED, DQ-DATE-ORDER, DQ-DUP-KEY,
    DQ-ORPHAN, DQ-BAD-REF), which cannot be waived."""
    from expectations.rulebook import load_rules

    return {rid for rid in load_rules() if rid not in RECORD_RULES and not rid.startswith("DQ-BAD-")}


_ID_LIKE = r"^[0-9]{14,17}[0-9Xx]$"


def load_ingest_rules() -> dict[str, dict]:
    """The ingest rules via the shared rule-book loader (falls back to reading
    ingest.yaml alone if another rule file is currently broken)."""
    try:
        from expectations.rulebook import load_rules

        rules = load_rules()
        if all(r in rules for r in OWNED_RULES):
            return {r: rules[r] for r in OWNED_RULES}
    except Exception as exc:  # noqa: BLE001 - another layer's file must not stop ingestion
        log.warning("rule book could not be loaded (%s); using ingest.yaml alone", type(exc).__name__)
    import yaml

    entries = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {e["rule_id"]: e for e in entries}


def template_expr(template: str) -> pl.Expr:
    """A str.format template over columns -> vectorised concat_str."""
    parts: list[pl.Expr] = []
    for literal, fname, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if fname is not None:
            parts.append(pl.col(fname).cast(pl.String).fill_null(""))
    return pl.concat_str(parts) if parts else pl.lit("")


def _mask_value(table: Table, column: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Mask personal identifiers in a finding's value: the whole value of an
    ID column (even a malformed one), and every ID-like part (15-18 digits /
    X) of any other value except a lone USCC column."""
    id_cols = [c.name for c in table.columns if c.kind == "id_number"]
    masked_parts = value.str.split(", ").list.eval(
        pl.when(pl.element().str.contains(_ID_LIKE)).then(mask_id_expr(pl.element())).otherwise(pl.element())
    ).list.join(", ")
    return visible(pl.when(column.is_in(id_cols)).then(mask_id_expr(value))
                   .when(column.is_in(sorted(USCC_COLUMNS))).then(value)
                   .otherwise(masked_parts))


def record_findings(table: Table, frame: pl.DataFrame, fails: pl.DataFrame, run_id: str, as_of: dt.date,
                     rules: dict) -> pl.DataFrame:
    if fails.height == 0:
        return pl.DataFrame()
    info = frame.select("_rid", "_src", "_row", "_u", "_uok", "_i", "_iok")
    f = (fails.with_columns(_mask_value(table, pl.col("column"), pl.col("value").fill_null("")).alias("value"))
         .group_by(["_rid", "rule_id"], maintain_order=True)
         .agg(pl.col("column").str.join(", "), pl.col("value").str.join(", "))
         .join(info, on="_rid", how="left"))
    sev = {r: rules[r]["severity"] for r in RECORD_RULES}
    zh = {c.name: c.zh for c in table.columns}
    f = f.with_columns(
        pl.col("column").str.split(", ").list.eval(pl.element().replace(zh)).list.join(", ").alias("column_zh"),
        pl.col("_src").alias("file"), pl.col("_row").alias("row"),
        pl.concat_str([pl.col("_src"), pl.lit(":"), pl.col("_row").cast(pl.String)]).alias("entity_key"),
        pl.lit(table.name).alias("table"),
    )
    out = []
    for rule_id, g in f.group_by("rule_id"):
        rule_id = rule_id[0]
        r = rules[rule_id]
        out.append(g.select(
            pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"), pl.lit(rule_id).alias("rule_id"),
            pl.lit(sev[rule_id]).alias("severity"), pl.lit("record").alias("entity_type"), pl.col("entity_key"),
            pl.when(pl.col("_uok")).then(pl.col("_u")).alias("uscc"),
            pl.when(pl.col("_iok")).then(pl.col("_i")).alias("id_number"),
            pl.lit(None, dtype=pl.Date).alias("due_on"),
            template_expr(r["message_zh"]).alias("message_zh"), template_expr(r["message_en"]).alias("message_en"),
            pl.struct(["table", "file", "row", "column", "column_zh", "value"]).struct.json_encode().alias("detail"),
            pl.col("_rid"),
        ))
    return pl.concat(out)


def mismatch_findings(mm: pl.DataFrame, run_id: str, as_of: dt.date, rules: dict) -> pl.DataFrame:
    if mm is None or mm.height == 0:
        return pl.DataFrame()
    r = rules["DQ-ID-MISMATCH"]
    g = (mm.with_columns(pl.col("value").fill_null(""))
         .group_by("id_number", maintain_order=True)
         .agg(pl.col("column").str.join(", "), pl.col("value").str.join(", "), pl.col("id_value").str.join(", "),
              pl.col("_src").cast(pl.String).first().alias("file"), pl.col("_row").first().alias("row"))
         .with_columns(mask_id_expr(pl.col("id_number")).alias("id_masked"),
                       pl.col("column").str.replace("birth_date", "出生日期").str.replace("gender", "性别")
                       .alias("column_zh")))
    return g.select(
        pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"), pl.lit("DQ-ID-MISMATCH").alias("rule_id"),
        pl.lit(r["severity"]).alias("severity"), pl.lit("person").alias("entity_type"),
        pl.col("id_number").alias("entity_key"), pl.lit(None, dtype=pl.String).alias("uscc"), pl.col("id_number"),
        pl.lit(None, dtype=pl.Date).alias("due_on"),
        template_expr(r["message_zh"].replace("{id_number}", "{id_masked}")).alias("message_zh"),
        template_expr(r["message_en"].replace("{id_number}", "{id_masked}")).alias("message_en"),
        pl.struct([pl.col("id_masked").alias("id_number"), "column", "column_zh", "value", "id_value", "file", "row"])
        .struct.json_encode().alias("detail"),
    )


def quarantine_reasons(table: Table, frame: pl.DataFrame, fails: pl.DataFrame) -> pl.DataFrame:
    """_rid -> rule_ids (list, distinct, rule-book order) and reasons (list of 'RULE: zh / en')."""
    if fails.height == 0:
        return pl.DataFrame(schema={"_rid": pl.Int64, "rule_ids": pl.List(pl.String), "reasons": pl.List(pl.String)})
    f = fails.with_columns(_mask_value(table, pl.col("column"), pl.col("value").fill_null("")).alias("mvalue"))
    texts = []
    for rule_id, (zh, en) in REASONS.items():
        tpl = f"{rule_id}: {zh} / {en}"
        texts.append(pl.when(pl.col("rule_id") == rule_id).then(template_expr(
            tpl.replace("{value}", "{mvalue}"))))
    f = f.with_columns(pl.coalesce(texts).alias("reason"),
                       pl.col("rule_id").replace_strict({r: i for i, r in enumerate(RECORD_RULES)},
                                                        return_dtype=pl.Int64).alias("_rank"))
    f = f.sort(["_rid", "_rank"], maintain_order=True)
    out = f.group_by("_rid", maintain_order=True).agg(pl.col("rule_id").unique(maintain_order=True).alias("rule_ids"),
                                                      pl.col("reason").alias("reasons"))
    # ragged rows: say so beside the reasons (missing cells were read as empty)
    short = frame.filter(pl.col("_ncells") < pl.col("_nheader")).select(
        "_rid", pl.format("行只有 {} 个单元格,表头有 {} 列 / row has {} cells, the header {} columns",
                          "_ncells", "_nheader", "_ncells", "_nheader").alias("_note"))
    out = out.join(short, on="_rid", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("_note").is_not_null()).then(pl.concat_list([pl.col("reasons"), pl.col("_note")]))
        .otherwise(pl.col("reasons")).alias("reasons")).drop("_note")
    return out
