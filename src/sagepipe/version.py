"""The installed package's version: pyproject.toml's ``version``, read from the
distribution's metadata (the one place it is written)."""

from __future__ import annotations


def package_version() -> str:
    """The version of the installed ``sagepipe`` distribution, e.g. ``"0.1.0"``.

    ``importlib.metadata`` is imported here, not at module level: it costs tens of
    milliseconds, which ``sagepipe --help`` should not pay.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sagepipe")
    except PackageNotFoundError:
        # Sources on sys.path without any install (PYTHONPATH=src): there is no metadata.
        return "0+unknown"
