"""Read-only SQL over the loaded Iceberg tables: the guard, the DuckDB (local) and Athena engines."""
