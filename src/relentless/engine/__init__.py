"""The durable engine: workflows advanced in batches on PostgreSQL."""
