"""Repositories: the only way stages read and write state. SQL (SQLite or PostgreSQL) implements them."""
