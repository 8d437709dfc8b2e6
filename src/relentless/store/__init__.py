"""PostgreSQL access: the embedded server, the connection pool, migrations and queries."""
