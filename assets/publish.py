"""Publish layer (issue 6/7). Exports ``publish_assets``."""
publish_assets: list = []
