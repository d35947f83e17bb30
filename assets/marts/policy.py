"""Policy parameters for the marts: expectations/policy.yaml (``defaults`` plus
``districts.<code>`` overrides), as a per-district table for SQL joins."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

# the parameters the marts use (bracket names of rules.md)
MART_PARAMS = ("expiry_notice_days", "sla_working_days", "branch_quota", "max_age_male", "max_age_female",
               "min_capital_cny", "min_achievement_chars", "photo_max_bytes", "photo_min_width",
               "photo_min_height", "photo_formats", "contribution_kinds", "min_cell")
DEFAULT_KEY = "__default__"


class PolicyError(ValueError):
    pass


def load_policy(path: Path) -> dict:
    """{'version': str, 'defaults': {...}, 'districts': {code: {...}}} with every mart parameter present."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"policy file {path}: cannot read / 无法读取政策参数文件: {exc}") from exc
    defaults = doc.get("defaults") or {}
    missing = [k for k in MART_PARAMS if k not in defaults]
    if missing:
        raise PolicyError(f"policy file {path}: defaults lack {', '.join(missing)} / 缺少参数")
    districts = doc.get("districts") or {}
    for code, over in districts.items():
        unknown = sorted(set(over or {}) - set(defaults))
        if unknown:
            raise PolicyError(f"policy file {path}: districts.{code} has unknown keys {', '.join(unknown)} / 未知参数")
    return {"version": str(doc.get("version", "")), "defaults": defaults, "districts": districts}


def policy_frame(policy: dict, district_codes: list[str]) -> pl.DataFrame:
    """One row per district code plus ``__default__``: the effective parameters."""
    rows = []
    for code in [DEFAULT_KEY, *district_codes]:
        eff = {**policy["defaults"], **(policy["districts"].get(code) or {})} if code != DEFAULT_KEY \
            else dict(policy["defaults"])
        rows.append({
            "district": code,
            **{k: int(eff[k]) for k in ("expiry_notice_days", "sla_working_days", "branch_quota", "max_age_male",
                                        "max_age_female", "min_achievement_chars", "photo_max_bytes",
                                        "photo_min_width", "photo_min_height", "min_cell")},
            "min_capital_cny": float(eff["min_capital_cny"]),
            "photo_formats": [str(f).lower() for f in eff["photo_formats"]],
        })
    ints = [k for k in rows[0] if isinstance(rows[0][k], int) and not isinstance(rows[0][k], bool)]
    return pl.DataFrame(rows).with_columns(pl.col(ints).cast(pl.Int32))
