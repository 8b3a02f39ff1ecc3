"""Search across the portfolio: index documents, the query language, and the backends (SQLite FTS5, OpenSearch)."""
