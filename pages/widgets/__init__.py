"""Shared UI pieces: navigation, sidebar status, error display, the cached model, placeholders."""
