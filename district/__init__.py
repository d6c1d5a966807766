"""The district server: PostgreSQL store, ingest of the schools' chunks, the dashboard
(`zhurnal district …`, district/README.md)."""
