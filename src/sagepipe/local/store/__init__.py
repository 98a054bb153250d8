"""The run store: executions, steps, metrics and content digests in SQLite."""

from sagepipe.local.store.runs import RunStore, store_path

__all__ = ["RunStore", "store_path"]
