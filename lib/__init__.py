"""Shared code of the microvision study: every notebook imports from here; nothing here imports a notebook."""
