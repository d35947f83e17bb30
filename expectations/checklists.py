"""Load the material checklists (``expectations/checklists.yaml``): per business
type, the items an HR officer brings to the window, when each applies, and the
rule(s) whose findings decide its state.

``load_checklists()`` checks the file whole (unknown keys, business types,
condition names, rule ids against the rule book) and returns flat items,
blocks expanded, numbered per business type. ``item_frames()`` turns them into
two tables the mart SQL joins (``assets/marts/checklists.sql``): one row per
(type, item) with the conditions as columns, one row per (type, item, rule).
No Dagster, no warehouse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from expectations.rulebook import load_rules

CHECKLISTS_FILE = Path(__file__).resolve().parent / "checklists.yaml"
BUSINESS_TYPES = ("new", "renewal", "employer_change", "address_change", "dependent_change", "general_change",
                  "history_change", "reissue", "annual_inspection", "cancellation", "deferred_cancellation")
SECTIONS = ("papers", "conditions")
LIST_CONDITIONS = ("housing_type", "highest_degree", "title_level", "id_type", "employer_category")
CONDITIONS = (*LIST_CONDITIONS, "relation", "children_at_least", "child_age_at_least", "finding")
ITEM_KEYS = {"zh", "en", "seed", "section", "when", "rules", "state"}
RELATIONS = ("spouse", "child")

# how a condition reads on the page: (中文, English) with {v} the value(s)
CONDITION_TEXT = {
    "housing_type": ("住所类型为{v}", "kind of home is {v}"),
    "highest_degree": ("最高学位为{v}", "highest degree is {v}"),
    "title_level": ("职称级别为{v}", "title level is {v}"),
    "id_type": ("证件类型为{v}", "document type is {v}"),
    "employer_category": ("单位分类为{v}", "employer category is {v}"),
    "relation": ("随往人员中有{v}", "a {v} is listed as accompanying"),
    "children_at_least": ("随往子女不少于{v}人", "at least {v} children are listed"),
    "child_age_at_least": ("有{v}周岁(含)以上的随往子女", "a listed child is {v} or older"),
    "finding": ("存在检查结果 {v}", "open finding {v}"),
}

# the enum (data contract) whose labels show a condition's codes
CONDITION_ENUMS = {"housing_type": "housing_type", "highest_degree": "degree", "title_level": "title_level",
                   "id_type": "id_type", "employer_category": "category", "relation": "relation"}


class ChecklistError(ValueError):
    """checklists.yaml is not usable; the message names the business type and item."""


@dataclass(frozen=True)
class Item:
    type: str
    item_no: int
    zh: str
    en: str
    seed: str
    section: str
    when: dict[str, Any] = field(default_factory=dict)
    rules: tuple[str, ...] = ()  # usable rule ids, in order; empty = state check

    @property
    def source(self) -> str:
        return f"seed:{self.seed}"

    def applies_text(self, child_age: int | None = None,
                     labels: dict[str, dict[str, tuple[str, str]]] | None = None) -> tuple[str, str]:
        """The item's condition in words (中文, English); 'always' when it has none.
        ``labels``: enum -> code -> (中文, English), to show codes as words."""
        if not self.when:
            return "均需提供", "always"
        labels = labels or {}
        zh, en = [], []
        for k, v in self.when.items():
            if k == "child_age_at_least" and isinstance(v, str):
                v = child_age if child_age is not None else v
            codes = v if isinstance(v, (list, tuple)) else [v]
            enum = labels.get(CONDITION_ENUMS.get(k, ""), {})
            if k == "finding":  # the rule's title beside its id
                rule = load_rules().get(v, {})
                enum = {v: (f"{v}({rule.get('title_zh', '')})", f"{v} ({rule.get('title_en', '')})")}
            z, e = CONDITION_TEXT[k]
            zh.append(z.format(v="/".join(enum.get(c, (str(c), str(c)))[0] for c in codes)))
            en.append(e.format(v="/".join(enum.get(c, (str(c), str(c)))[1] for c in codes)))
        return ";".join(zh), "; ".join(en)


def _fail(where: str, what: str) -> None:
    raise ChecklistError(f"checklists.yaml {where}: {what} / 材料清单配置错误")


def _check_when(where: str, when: Any, rules: dict) -> dict:
    if when is None:
        return {}
    if not isinstance(when, dict):
        _fail(where, "`when` must be a mapping")
    for k, v in when.items():
        if k not in CONDITIONS:
            _fail(where, f"unknown condition {k!r} (known: {', '.join(CONDITIONS)})")
        if k in LIST_CONDITIONS and not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
            _fail(where, f"condition {k} must be a non-empty list of codes")
        if k == "relation" and v not in RELATIONS:
            _fail(where, f"relation must be one of {RELATIONS}")
        if k == "children_at_least" and not (isinstance(v, int) and v >= 1):
            _fail(where, "children_at_least must be a positive whole number")
        if k == "child_age_at_least" and not (isinstance(v, str) or (isinstance(v, int) and v >= 0)):
            _fail(where, "child_age_at_least must be a policy parameter name or a number")
        if k == "finding" and v not in rules:
            _fail(where, f"finding {v!r} is not a rule of the rule book")
    return dict(when)


def _item(where: str, raw: dict, rules: dict) -> dict:
    unknown = set(raw) - ITEM_KEYS
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    for k in ("zh", "en", "seed", "section"):
        if not str(raw.get(k) or "").strip():
            _fail(where, f"missing {k}")
    if raw["section"] not in SECTIONS:
        _fail(where, f"section must be one of {SECTIONS}")
    has_rules, is_check = "rules" in raw, raw.get("state") == "check"
    if has_rules == is_check or ("state" in raw and not is_check):
        _fail(where, "give either `rules: [...]` or `state: check`")
    for rid in raw.get("rules") or []:
        if rid not in rules:
            _fail(where, f"rule {rid!r} is not in the rule book")
    if has_rules and not raw["rules"]:
        _fail(where, "`rules` is empty")
    return {"zh": str(raw["zh"]).strip(), "en": str(raw["en"]).strip(), "seed": str(raw["seed"]).strip(),
            "section": raw["section"], "when": _check_when(where, raw.get("when"), rules),
            "rules": tuple(raw.get("rules") or ())}


def load_checklists(path: Path = CHECKLISTS_FILE, rules: dict | None = None) -> dict[str, list[Item]]:
    """business type -> its items (blocks expanded, numbered from 1)."""
    rules = load_rules() if rules is None else rules
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ChecklistError(f"{Path(path).name}: not valid YAML / 材料清单格式错误: {exc}") from exc
    blocks = doc.get("blocks") or {}
    types = doc.get("business_types") or {}
    unknown = set(types) - set(BUSINESS_TYPES)
    if unknown:
        _fail("business_types", f"unknown business type(s) {', '.join(sorted(unknown))}")
    missing = [t for t in BUSINESS_TYPES if t not in types]
    if missing:
        _fail("business_types", f"no checklist for {', '.join(missing)}")
    out: dict[str, list[Item]] = {}
    for btype in BUSINESS_TYPES:
        spec = types[btype] or {}
        flat: list[dict] = []
        for i, raw in enumerate(spec.get("items") or [], start=1):
            where = f"{btype} item {i}"
            if not isinstance(raw, dict):
                _fail(where, "not a mapping")
            if "include" in raw:
                name = raw["include"]
                if name not in blocks:
                    _fail(where, f"unknown block {name!r}")
                extra = _check_when(where, raw.get("when"), rules)
                for j, b in enumerate(blocks[name], start=1):
                    it = _item(f"{btype} item {i} (block {name} item {j})", b, rules)
                    it["when"] = {**it["when"], **extra}
                    flat.append(it)
            else:
                flat.append(_item(where, raw, rules))
        if not flat:
            _fail(btype, "no items")
        out[btype] = [Item(type=btype, item_no=n, **it) for n, it in enumerate(flat, start=1)]
    return out


def business_type_titles(path: Path = CHECKLISTS_FILE) -> dict[str, tuple[str, str]]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {k: (v.get("zh", k), v.get("en", k)) for k, v in (doc.get("business_types") or {}).items()}


def item_frames(checklists: dict[str, list[Item]], params: dict[str, Any],
                labels: dict[str, dict[str, tuple[str, str]]] | None = None):
    """(items, item_rules) as polars frames for the mart SQL. ``params``
    resolves policy parameter names in conditions (child_age_at_least);
    ``labels`` (enum -> code -> (中文, English)) words the conditions."""
    import polars as pl

    rows, rule_rows = [], []
    for btype, items in checklists.items():
        for it in items:
            w = it.when
            age = w.get("child_age_at_least")
            if isinstance(age, str):
                if age not in params:
                    raise ChecklistError(f"checklists.yaml {btype} item {it.item_no}: policy parameter {age!r} "
                                         "unknown / 材料清单引用了未知的政策参数")
                age = int(params[age])
            zh, en = it.applies_text(age, labels)
            rows.append({"type": btype, "item_no": it.item_no, "item_zh": it.zh, "item_en": it.en,
                         "section": it.section, "source": it.source, "applies_zh": zh, "applies_en": en,
                         **{f"when_{k}": w.get(k) for k in LIST_CONDITIONS},
                         "when_relation": w.get("relation"), "when_children_at_least": w.get("children_at_least"),
                         "when_child_age_at_least": age, "when_finding": w.get("finding")})
            for order, rid in enumerate(it.rules):
                rule_rows.append({"type": btype, "item_no": it.item_no, "rule_id": rid, "ord": order})
    schema = {"type": pl.String, "item_no": pl.Int32, "item_zh": pl.String, "item_en": pl.String,
              "section": pl.String, "source": pl.String, "applies_zh": pl.String, "applies_en": pl.String,
              **{f"when_{k}": pl.List(pl.String) for k in LIST_CONDITIONS}, "when_relation": pl.String,
              "when_children_at_least": pl.Int32, "when_child_age_at_least": pl.Int32, "when_finding": pl.String}
    items_df = pl.DataFrame(rows, schema=schema)
    rules_df = pl.DataFrame(rule_rows, schema={"type": pl.String, "item_no": pl.Int32, "rule_id": pl.String,
                                               "ord": pl.Int32})
    return items_df, rules_df
