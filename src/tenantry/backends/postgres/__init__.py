"""PostgreSQL backends: tenant schemas, databases and roles."""
