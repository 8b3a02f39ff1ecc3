"""Live updates to dashboards over WebSocket (:8765, and /ws on :8000)."""
