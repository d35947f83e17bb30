"""Reading the generator's CSV files in tests, independently of the ingest code (which the tests
check): UTF-8 with or without BOM, else GB18030, as `pipelines/synthetic/layout.py` writes them."""
from __future__ import annotations

import csv
from pathlib import Path


def read_generated_csv(path: Path) -> list[dict]:
    """Every row of a generated CSV file as a dict keyed by its header."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return list(csv.DictReader(text.splitlines()))
