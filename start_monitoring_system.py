#!/usr/bin/env python3
"""Start the TechScanIQ monitoring system (the deployment guide's entry point).

    python start_monitoring_system.py

Also importable, as the guide's configuration example does: `from start_monitoring_system import
MonitoringSystem`."""

from __future__ import annotations

import sys
from pathlib import Path

# Works from a source checkout even before `pip install -e .` put the package on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from techscaniq.system import MonitoringSystem  # noqa: E402

__all__ = ["MonitoringSystem"]

if __name__ == "__main__":
    from techscaniq.runner import main

    raise SystemExit(main())
