"""The HTTP API: FastAPI routes (one service call each), dependencies and problem+json errors."""
