"""Local-directory backends (the embedded default for objects)."""
