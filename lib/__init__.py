"""Pitwall's engine: everything the dashboard does, usable without it (`python -m lib`)."""
