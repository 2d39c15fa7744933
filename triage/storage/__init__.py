"""Storage: SQLAlchemy 2 tables, Alembic migrations, and the repositories the service uses."""
