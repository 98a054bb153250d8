"""Fixture: inference handlers (compiled, never run by these tests)."""


def model_fn(model_dir: str) -> str:
    return model_dir
