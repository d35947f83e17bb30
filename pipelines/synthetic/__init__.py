"""Built-in synthetic data (issue 3). ``generate(out, scale, seed) -> dict``
writes an input folder and returns at least {"reference_date": "YYYY-MM-DD"}."""
from __future__ import annotations

from pathlib import Path


def generate(out: Path, scale: str = "demo", seed: int = 0) -> dict:
    raise NotImplementedError("synthetic data generator not built yet")
