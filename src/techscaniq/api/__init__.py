"""The HTTP API on :8000: configs, scans, changes, alerts, /health, /ready, /metrics, the dashboard."""
