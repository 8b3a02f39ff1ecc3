"""`python start_monitoring_system.py`, as the guide runs it: banner, health, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]



def test_start_script_serves_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    http_port, ws_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL")},
        "HTTP_PORT": str(http_port), "WEBSOCKET_PORT": str(ws_port), "HOST": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "start_monitoring_system.py")], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        banner = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Ctrl+C" in line or not line:
                break
        text = "".join(banner)
        assert "TechScanIQ Continuous Monitoring" in text, text
        assert "mode: embedded" in text
        for component in ("database", "scheduler", "scan_worker", "change_detector", "alert_engine", "notifier",
                          "api", "websocket"):
            assert f"[OK ] {component}" in text, text

        health = httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        stats = httpx.get(f"http://127.0.0.1:{ws_port}/stats", timeout=5).json()
        assert stats["connections"] == 0

        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "stopped cleanly" in rest
    finally:
        if process.poll() is None:
            process.kill()
    assert (tmp_path / "monitoring_system.log").exists()
    for name in ("pipeline.log", "change_detector.log", "alert_engine.log", "websocket.log"):
        assert (tmp_path / "logs" / name).exists()
    assert (tmp_path / "data" / "techscaniq.db").exists()
