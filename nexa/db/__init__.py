"""Database layer: every dialect difference between SQLite and PostgreSQL lives in this package."""
