"""Fixture script: its presence satisfies the entry-point checks; tests never run it."""
