"""Reusable test infrastructure: a real local website (HTTP and HTTPS) and its pytest fixtures."""
