"""Fixture: a helper module packed with the code."""

COLUMNS = ["id", "label", "x1", "x2", "city"]
