"""The web chat channel: Chatwoot's public client API, the widget page and its one-line embed script."""
