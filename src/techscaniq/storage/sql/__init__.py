"""SQL storage on SQLAlchemy Core: one implementation for SQLite (embedded) and PostgreSQL (scale-out)."""

from techscaniq.storage.sql.storage import SqlStorage

__all__ = ["SqlStorage"]
