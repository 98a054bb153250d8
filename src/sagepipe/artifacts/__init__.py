"""model.tar.gz handling: safe extraction, layout validation, streaming repack, payloads."""
