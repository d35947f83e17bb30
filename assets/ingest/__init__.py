"""Ingest layer (issue 2). Exports ``ingest_assets``: asset definitions that
materialise the nine contract tables plus ``quarantine`` and ``ingest_log``."""
ingest_assets: list = []
