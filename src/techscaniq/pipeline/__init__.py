"""Scheduling and running scans: scheduler (due runs -> scan.requested) and scan worker (-> scan.completed)."""
