"""Fixture: preprocessing script (compiled, never run by these tests)."""

from helpers.columns import COLUMNS

print(COLUMNS)
