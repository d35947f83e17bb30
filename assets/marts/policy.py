"""Policy parameters for the marts: expectations/policy.yaml (``defaults`` plus
``districts.<code>`` overrides), as a per-district table for SQL joins."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from expectations.policy import PolicyError  # noqa: F401  (re-exported)
from expectations.policy import load_policy as _load_rulebook_policy

# the parameters the marts use (bracket names of rules.md)
MART_PARAMS = ("expiry_notice_days", "sla_working_days", "branch_quota", "max_age_male", "max_age_female",
               "min_capital_cny", "min_achievement_chars", "photo_max_bytes", "photo_min_width",
               "photo_min_height", "photo_formats", "contribution_kinds", "min_cell")
DEFAULT_KEY = "__default__"


def load_policy(path: Path) -> dict:
    """{'version', 'defaults', 'districts'} from the rule book's validated
    loader (expectations.policy), checked to hold every mart parameter."""
    pol = _load_rulebook_policy(Path(path))
    missing = [k for k in MART_PARAMS if k not in pol.defaults]
    if missing:
        raise PolicyError(f"policy file {path}: defaults lack {', '.join(missing)} / 缺少参数")
    return {"version": pol.version, "defaults": pol.defaults, "districts": pol.districts}


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
