"""Search: the query language (`query.py`), the words the index holds (`words.py`) and the
highlighted fragments results carry (`highlight.py`). Pure functions, no storage: `store/search.py`
compiles a parsed query for SQLite FTS5 or PostgreSQL `tsvector`."""
