"""The database: models (``models``), engines and the session scope (``session``), shared
queries (``queries``) and the Alembic migrations (``migrate``, ``migrations/``)."""
