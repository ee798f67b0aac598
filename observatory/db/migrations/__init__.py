"""Alembic migrations of the observatory schema (run them with observatory.db.migrate)."""
