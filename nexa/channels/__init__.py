"""Channels: one adapter per provider behind one protocol (see base.py), the inbound pipeline, and delivery."""
