"""Redis backends (state, and later shared rate limits)."""
