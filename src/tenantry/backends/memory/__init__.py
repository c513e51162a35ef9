"""In-process backends: the embedded defaults that need no service."""
