"""Server-rendered pages and static assets (no build step)."""
