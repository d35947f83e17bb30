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


def _packaged_parameters() -> list[str]:
    doc = yaml.safe_load(PACKAGED_POLICY.read_text(encoding="utf-8")) or {}
    return list(doc.get("defaults") or {})


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
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"policy file {path}: cannot read / 无法读取政策参数文件: {exc}") from exc
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
