"""Mart layer (issue 5). Exports ``marts_assets``."""
marts_assets: list = []
