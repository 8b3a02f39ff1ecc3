"""Prometheus metrics and per-component log files."""
