"""Helpers of benchmarks/serving.py: load generation, process memory, the reference stack."""
