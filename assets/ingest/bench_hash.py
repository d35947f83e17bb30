"""Cache-key cost (issue 19 item 7): hashing every byte of each input file
against parsing it.

    .venv/bin/python -m assets.ingest.bench_hash /work/city/input

For each CSV / Parquet / xlsx file: seconds to hash all its bytes (sha1, the
cache's choice, plus blake2b and md5 for comparison) and seconds to parse it
(``read_any``: decode and tokenise to string frames — the cheapest part of an
ingest; typing and checks come on top). Prints totals and the ratio.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from assets.ingest.cache import fingerprint
from assets.ingest.readers import SUPPORTED, read_any


def _hash(path: Path, algo: str) -> float:
    t = time.perf_counter()
    with open(path, "rb") as fh:
        hashlib.file_digest(fh, algo)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    files = sorted(p for p in args.folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED)
    tot = {"bytes": 0, "sha1": 0.0, "blake2b": 0.0, "md5": 0.0, "fingerprint": 0.0, "parse": 0.0}
    for p in files:
        for algo in ("sha1", "blake2b", "md5"):
            tot[algo] += _hash(p, algo)
        t = time.perf_counter()
        fingerprint(p)
        tot["fingerprint"] += time.perf_counter() - t
        t = time.perf_counter()
        sheets = read_any(p)
        parse = time.perf_counter() - t
        del sheets
        tot["parse"] += parse
        tot["bytes"] += p.stat().st_size
        print(f"{p.name:32s} {p.stat().st_size / 1e6:8.1f} MB  parse {parse:6.2f} s")
    mb = tot["bytes"] / 1e6
    print(f"\n{len(files)} files, {mb:.0f} MB")
    for algo in ("sha1", "blake2b", "md5"):
        print(f"  hash {algo:8s} {tot[algo]:6.2f} s  ({mb / tot[algo]:.0f} MB/s)")
    print(f"  cache fingerprint (sha1 + stat) {tot['fingerprint']:.2f} s")
    print(f"  parse (read_any)   {tot['parse']:6.2f} s  -> hashing is {100 * tot['fingerprint'] / tot['parse']:.1f} % "
          f"of parsing alone")


if __name__ == "__main__":
    main()
