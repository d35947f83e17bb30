"""Load the rule book: every rule once, as data, from expectations/rules/*.yaml.

Each entry carries at least: rule_id, severity (error|warning|info),
entity_type (record|person|employer|permit|application|dependent), title_zh,
title_en, message_zh, message_en (str.format templates over the finding's
detail keys), source (the spec / seed sentence it comes from) and check
(``{engine: ingest}`` for rules the ingest layer applies, otherwise the rule
layer's own check definition).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).resolve().parent / "rules"
REQUIRED_KEYS = ("rule_id", "severity", "entity_type", "title_zh", "title_en", "message_zh", "message_en", "source", "check")
SEVERITIES = {"error", "warning", "info"}
ENTITY_TYPES = {"record", "person", "employer", "permit", "application", "dependent"}


class RuleBookError(ValueError):
    pass


@lru_cache(maxsize=4)
def load_rules(rules_dir: Path = RULES_DIR) -> dict[str, dict]:
    rules: dict[str, dict] = {}
    for path in sorted(Path(rules_dir).glob("*.yaml")):
        try:
            entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise RuleBookError(f"{path.name}: not valid YAML / 规则文件格式错误: {exc}") from exc
        if not isinstance(entries, list):
            raise RuleBookError(f"{path.name}: must be a list of rules / 须为规则列表")
        for i, rule in enumerate(entries):
            if not isinstance(rule, dict):
                raise RuleBookError(f"{path.name} entry {i + 1}: not a mapping / 不是规则条目")
            where = f"{path.name} entry {i + 1}"
            missing = [k for k in REQUIRED_KEYS if k not in rule]
            if missing:
                raise RuleBookError(f"{where}: missing {', '.join(missing)}")
            if rule["severity"] not in SEVERITIES:
                raise RuleBookError(f"{where}: severity {rule['severity']!r}")
            if rule["entity_type"] not in ENTITY_TYPES:
                raise RuleBookError(f"{where}: entity_type {rule['entity_type']!r}")
            if rule["rule_id"] in rules:
                raise RuleBookError(f"{where}: {rule['rule_id']} defined twice")
            rules[rule["rule_id"]] = {**rule, "file": path.name}
    return rules


def rules_for_engine(engine: str) -> dict[str, dict]:
    return {k: r for k, r in load_rules().items() if r["check"].get("engine") == engine}
