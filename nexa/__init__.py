"""Nexa: a self-hostable, white-label customer engagement platform."""

__version__ = "0.1.0"
