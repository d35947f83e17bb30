"""Schedules and sensors (issue 7)."""
schedules: list = []
sensors: list = []
