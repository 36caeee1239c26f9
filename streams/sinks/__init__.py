"""Sinks: where changes that came from Ditto are written (the legacy Postgres tables)."""
