"""`python start_monitoring_system.py`, as the guide runs it: banner, health, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]



def test_start_script_serves_health_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
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

        assert "/static/setup.html#token=" in text, text  # a fresh install: how to create the first owner

        process.send_signal(signal.SIGINT)  # Ctrl-C: it says what it waits for
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "stopping: waiting up to 30 s (SHUTDOWN_GRACE_SECONDS) for 0 scan(s) in flight" in rest
        assert "stopped cleanly" in rest and "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
    assert (tmp_path / "monitoring_system.log").exists()
    for name in ("pipeline.log", "change_detector.log", "alert_engine.log", "websocket.log"):
        assert (tmp_path / "logs" / name).exists()
    assert (tmp_path / "data" / "techscaniq.db").exists()


def start_script(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "start_monitoring_system.py")], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=90)


def test_a_dot_env_naming_backends_that_do_not_answer_gives_one_line_with_the_ways_out(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    (tmp_path / ".env").write_text(f"DATABASE_URL=postgresql://techscaniq:x@127.0.0.1:{closed}/techscaniq\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL",
                                                           "METRICS_DATABASE_URL")}
    result = start_script(env, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: DATABASE_URL points at 127.0.0.1:{closed}, which does not answer")
    assert "make services" in line and "remove DATABASE_URL from .env" in line and "embedded" in line


def test_a_port_in_use_ends_the_process_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL")},
               "HTTP_PORT": str(port), "WEBSOCKET_PORT": str(free_port()), "HOST": "127.0.0.1"}
        result = start_script(env, tmp_path)
    assert result.returncode == 1
    assert f"error: HTTP_PORT={port}: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "set HTTP_PORT to a free port" in result.stderr and "Traceback" not in result.stderr
