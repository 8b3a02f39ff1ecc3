"""`python start_monitoring_system.py`, as the guide runs it: banner, health, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.support.ports import free_port
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

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


async def test_a_second_ctrl_c_stops_at_once_while_a_scan_hangs(tmp_path: Path, local_site: LocalSite) -> None:
    """The first Ctrl-C waits for the scan in flight (and says so); a person who will not wait presses it again
    and the process ends at once with 130, saying the interrupted scan runs again at the next start."""
    local_site.route("/", hang=True)  # reads the request, never answers: the scan stays in flight
    http_port, key = free_port(), "second-ctrl-c-key-0123456789"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL")},
        "HTTP_PORT": str(http_port), "WEBSOCKET_PORT": str(free_port()), "HOST": "127.0.0.1",
        "API_KEYS": f"org-c:{key}", "ALLOW_PRIVATE_TARGETS": "true", "SHUTDOWN_GRACE_SECONDS": "60",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "start_monitoring_system.py"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    stdout = process.stdout

    async def line_with(text: str) -> str:
        async with asyncio.timeout(60):
            while True:
                line = (await stdout.readline()).decode()
                if text in line or not line:
                    return line

    try:
        assert "Ctrl+C" in await line_with("Ctrl+C")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", headers={"X-API-Key": key}) as api:
            created = await api.post("/api/v1/configs", json={"name": "Hanging", "url": local_site.url("/"),
                                                              "schedule": {"type": "interval", "expression": "1d"}})
            assert created.status_code == 201, created.text

            async def in_flight() -> bool:
                return "techscaniq_scans_in_flight 1.0" in (await api.get("/metrics")).text

            await eventually(in_flight, within=30, every=0.2)
        process.send_signal(signal.SIGINT)
        assert "for 1 scan(s) in flight" in await line_with("stopping:")
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            rest = (await stdout.read()).decode()
            await process.wait()
        assert process.returncode == 130, rest
        assert "stopped at once; interrupted scans run again at the next start." in rest
        assert "stopped cleanly" not in rest and "Traceback" not in rest
    finally:
        if process.returncode is None:
            process.kill()
