"""Real replicas for the scale-out tests and benchmarks: `python start_monitoring_system.py` subprocesses
sharing one PostgreSQL, Kafka (a topic prefix of their own) and Redis, each on its own loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.ports import free_port

PROJECT = Path(__file__).resolve().parents[2]
ENTRY_POINT = PROJECT / "start_monitoring_system.py"
# The environment of the test process may carry anything; a replica gets only what it needs.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")



@dataclass
class Replica:
    name: str
    workdir: Path
    env: dict[str, str]
    http_port: int = field(default_factory=free_port)
    websocket_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def user_agent(self) -> str:
        """Each replica fetches with its own User-Agent, so a site knows which replica scanned it."""
        return f"TechScanIQ-test/{self.name}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
        env.update(self.env)
        env.update({
            "HOST": "127.0.0.1", "HTTP_PORT": str(self.http_port), "WEBSOCKET_PORT": str(self.websocket_port),
            "DATA_DIR": str(self.workdir / "data"), "LOG_DIR": str(self.workdir / "logs"),
            "USER_AGENT": self.user_agent, "ALLOW_PRIVATE_TARGETS": "true",
            # The tests' webhook receivers listen on loopback, which channels may not reach by default.
            "NOTIFICATION_ALLOWED_NETWORKS": "127.0.0.0/8",
            "MIN_SCAN_INTERVAL_SECONDS": "0",  # the scale-out tests scan every second
        })
        output = (self.workdir / "output.log").open("wb")
        # cwd: the replica's own folder, so no stray .env of the checkout is read.
        self.process = subprocess.Popen([sys.executable, str(ENTRY_POINT)], cwd=self.workdir, env=env,
                                        stdout=output, stderr=subprocess.STDOUT)
        output.close()

    async def wait_ready(self, within: float = 90.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"replica {self.name} exited ({self.process.returncode}):\n{self.output()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.api}/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.25)
        raise TimeoutError(f"replica {self.name} not ready within {within} s:\n{self.output()}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs, nothing is committed or released."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, within: float = 30.0) -> int | None:
        """SIGTERM (a clean stop), SIGKILL if it takes longer than `within`."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(within)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def output(self, tail: int = 4000) -> str:
        path = self.workdir / "output.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def replicas(count: int, root: Path, env: dict[str, str]) -> list[Replica]:
    return [Replica(f"r{index}", root / f"r{index}", dict(env)) for index in range(count)]


async def start_all(group: list[Replica]) -> None:
    for replica in group:
        replica.start()
    await asyncio.gather(*(replica.wait_ready() for replica in group))


def stop_all(group: list[Replica]) -> None:
    for replica in group:
        if replica.process is not None and replica.process.poll() is None:
            replica.process.send_signal(signal.SIGTERM)
    for replica in group:
        replica.stop()
