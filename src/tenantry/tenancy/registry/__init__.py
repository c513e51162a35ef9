"""The tenant registry: the control database and the use cases over it."""
