"""Request and response bodies of the tenant API, one module per group of routes."""
