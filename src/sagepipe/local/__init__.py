"""The local engine: runs a pipeline's IR offline, one subprocess per step, with the
SageMaker container contract, a SQLite run store, caching and resume.

Importing this package is cheap; the engine's modules import what they need when used.
"""
