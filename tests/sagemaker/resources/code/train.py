"""Fixture: training script (compiled, never run by these tests)."""

print("train")
