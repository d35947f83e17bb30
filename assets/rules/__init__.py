"""Rule layer (issue 4). Exports ``rules_assets`` and ``rules_checks``."""
rules_assets: list = []
rules_checks: list = []
