"""Telegram bot channel."""
