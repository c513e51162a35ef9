"""SQLite backends (the embedded default for tenant data)."""
