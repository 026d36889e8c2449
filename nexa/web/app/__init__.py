"""The agent web app: pages under /app (docs/web-inbox.md)."""
