"""Ingest layer (issue 2). Exports ``ingest_assets``: one multi-asset that
materialises the nine contract tables plus ``quarantine`` and ``ingest_log``
(and writes the ingest findings, ``ingest_files`` and ``ingest_extra_values``).
The work is done by :func:`assets.ingest.core.ingest_folder`."""
from assets.ingest.assets import ingest_tables

ingest_assets = [ingest_tables]

__all__ = ["ingest_assets", "ingest_tables"]
