"""Mart layer (issue 5): monitoring marts, employer action lists and bureau
marts, built with DuckDB SQL from the contract tables and ``findings``.
Exports ``marts_assets`` (one Dagster asset per mart; see docs/marts.md)."""
from assets.marts.assets import MARTS, marts_assets

__all__ = ["marts_assets", "MARTS"]
