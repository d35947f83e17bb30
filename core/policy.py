"""Policy parameters (every bracketed parameter of rules.md) and district
overrides, loaded from a YAML file: the one policy loader of the product
(rule book, marts, site and run steps all read the policy through it).

``Policy.variants()`` gives one dict per policy variant: ``pkey = '*'`` for the
defaults and one per district listed under ``districts:`` (defaults merged
with that district's overrides); the rule book turns them into its ``_policy``
table (``expectations.engine.create_policy_table``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.contract import ENUMS

PACKAGED_POLICY = Path(__file__).resolve().parent.parent / "expectations" / "policy.yaml"


DEFAULT_KEY = "*"
DISTRICTS = tuple(ENUMS["district"])


class PolicyError(ValueError):
    pass


@dataclass
class Policy:
    version: str
    defaults: dict
    districts: dict[str, dict] = field(default_factory=dict)
    source: str = ""

    def for_district(self, district: str | None) -> dict:
        return {**self.defaults, **self.districts.get(district or "", {})}

    def variants(self) -> list[dict]:
        """One dict per policy variant: pkey, label columns and every parameter."""
        out = [{"pkey": DEFAULT_KEY, "policy_version": self.version, "policy_district": None,
                "policy_overrides": [], "policy_label": self.version, **self.defaults}]
        for district, over in sorted(self.districts.items()):
            out.append({"pkey": district, "policy_version": self.version, "policy_district": district,
                        "policy_overrides": sorted(over), "policy_label": f"{self.version} / {district}",
                        **self.defaults, **over})
        return out


def read_policy_doc(path: Path) -> dict:
    """The one place a policy file is parsed (rule parameters, ingest limits, run guard)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"policy file {path}: cannot read / 无法读取政策参数文件: {exc}") from exc
    if not isinstance(doc, dict):
        raise PolicyError(f"policy file {path}: not a mapping / 政策参数文件格式错误")
    return doc


def _packaged_parameters() -> list[str]:
    return list(read_policy_doc(PACKAGED_POLICY).get("defaults") or {})


def _same_kind(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; errors name the file and the key. A
    file other than the packaged one must define every parameter the packaged
    one does (the rules need them all)."""
    path = Path(path)
    doc = read_policy_doc(path)
    defaults = doc.get("defaults")
    if not isinstance(defaults, dict) or not defaults:
        raise PolicyError(f"policy file {path}: no 'defaults' mapping / 缺少 defaults")
    for key, value in defaults.items():
        if not isinstance(key, str) or not re.match(r"^[a-z_][a-z0-9_]*$", key):
            raise PolicyError(f"policy file {path}: defaults.{key}: parameter names are lower_case identifiers "
                              f"/ 参数名须为小写标识符")
        if value is None:
            raise PolicyError(f"policy file {path}: defaults.{key} is empty / 参数为空")
    if path.resolve() != PACKAGED_POLICY.resolve():
        missing = [k for k in _packaged_parameters() if k not in defaults]
        if missing:
            raise PolicyError(f"policy file {path}: defaults lack {', '.join(missing)} / 缺少参数")
    districts = doc.get("districts") or {}
    if not isinstance(districts, dict):
        raise PolicyError(f"policy file {path}: 'districts' must be a mapping / districts 格式错误")
    for district, over in districts.items():
        if district not in DISTRICTS:
            raise PolicyError(f"policy file {path}: districts.{district}: unknown district code / 未知区代码")
        if not isinstance(over, dict):
            raise PolicyError(f"policy file {path}: districts.{district} must be a mapping / 格式错误")
        for key, value in over.items():
            if key not in defaults:
                raise PolicyError(f"policy file {path}: districts.{district}.{key}: not a parameter in defaults "
                                  f"/ 不是已定义的参数")
            if not _same_kind(defaults[key], value):
                raise PolicyError(f"policy file {path}: districts.{district}.{key}: {value!r} is not the same kind "
                                  f"as the default {defaults[key]!r} / 参数类型不符")
    return Policy(version=str(doc.get("version") or path.name), defaults=dict(defaults),
                  districts={k: dict(v) for k, v in districts.items() if v}, source=str(path))


INGEST_LIMIT_KEYS = ("max_file_bytes", "max_xlsx_uncompressed_bytes", "max_line_bytes", "max_columns", "max_rows",
                     "max_cells", "max_xlsx_cells")


def load_ingest_limits(path: Path | None = None) -> dict[str, int]:
    """The ``ingest_limits`` section (positive integers). Keys a policy file
    does not set come from the packaged ``expectations/policy.yaml``."""
    out: dict[str, int] = {}
    for p in ([PACKAGED_POLICY] if path is None or Path(path) == PACKAGED_POLICY else [PACKAGED_POLICY, Path(path)]):
        section = read_policy_doc(p).get("ingest_limits") or {}
        if not isinstance(section, dict):
            raise PolicyError(f"policy file {p}: 'ingest_limits' must be a mapping / ingest_limits 格式错误")
        for key, value in section.items():
            if key not in INGEST_LIMIT_KEYS:
                raise PolicyError(f"policy file {p}: ingest_limits.{key}: unknown limit / 未知的限制项")
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise PolicyError(f"policy file {p}: ingest_limits.{key}: {value!r} is not a positive integer "
                                  f"/ 须为正整数")
            out[key] = value
    missing = [k for k in INGEST_LIMIT_KEYS if k not in out]
    if missing:
        raise PolicyError(f"policy file {PACKAGED_POLICY}: ingest_limits lacks {', '.join(missing)} / 缺少限制项")
    return out


DEFAULT_MAX_ROW_DROP_SHARE = 0.20


def load_max_row_drop_share(path: Path) -> float:
    """``run_guard.max_row_drop_share`` of a policy file, clamped to 0..1; the default (0.20) when
    the file or the value cannot be read (the guard must not stop a run for its own setting)."""
    try:
        value = float((read_policy_doc(path).get("run_guard") or {}).get("max_row_drop_share",
                                                                          DEFAULT_MAX_ROW_DROP_SHARE))
    except (PolicyError, TypeError, ValueError):
        return DEFAULT_MAX_ROW_DROP_SHARE
    return min(max(value, 0.0), 1.0)
