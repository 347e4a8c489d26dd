"""Storage: SQLAlchemy Core tables, the database handle, migrations and queries."""

from inboxkit.store.db import Database

__all__ = ["Database"]
