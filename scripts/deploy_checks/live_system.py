"""Run `python start_monitoring_system.py` as a user would, on free loopback ports in a scratch directory,
and read its /health, /metrics and :websocket/stats. Used by the deployment checks and tests/deploy.

    with LiveSystem() as system:           # embedded unless `env` names backends
        system.get("http", "/metrics")

Backend variables of the caller's environment (DATABASE_URL, ...) are removed unless passed in `env`,
so the result does not depend on what the shell happens to export."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
BACKEND_VARIABLES = ("DATABASE_URL", "METRICS_DATABASE_URL", "REDIS_URL", "KAFKA_SERVERS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveSystem:
    def __init__(self, env: dict[str, str] | None = None, python: str = sys.executable,
                 startup_timeout: float = 90.0, workdir: Path | None = None,
                 command: list[str] | None = None) -> None:
        self.command = command or [python, str(ROOT / "start_monitoring_system.py")]
        self.startup_timeout = startup_timeout
        self.ports = {"http": free_port(), "websocket": free_port()}
        self._scratch = tempfile.TemporaryDirectory(prefix="techscaniq-live-") if workdir is None else None
        self.workdir = workdir or Path(self._scratch.name)  # type: ignore[union-attr]
        self.env = {k: v for k, v in os.environ.items() if k not in BACKEND_VARIABLES}
        self.env.update({
            "HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports["http"]),
            "WEBSOCKET_PORT": str(self.ports["websocket"]),
            "DATA_DIR": str(self.workdir / "data"),
            "LOG_DIR": str(self.workdir / "logs"),
            "LOG_FILE": str(self.workdir / "monitoring_system.log"),
        })
        self.env.update(env or {})
        self.process: subprocess.Popen[str] | None = None
        self._console = self.workdir / "console.txt"
        self._output = ""

    def __enter__(self) -> LiveSystem:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def url(self, server: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[server]}{path}"

    def get(self, server: str, path: str, timeout: float = 10.0) -> tuple[int, str]:
        """Status and body; an HTTP error status is returned, not raised."""
        try:
            with urllib.request.urlopen(self.url(server, path), timeout=timeout) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    def start(self) -> None:
        # The working directory is the scratch directory: no project .env is read, as on a fresh checkout.
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._console = self.workdir / "console.txt"
        with self._console.open("w") as console:  # a file, not a pipe: a chatty process never blocks on it
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, env=self.env,
                stdout=console, stderr=subprocess.STDOUT, text=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"start_monitoring_system.py exited with {self.process.returncode}:\n"
                                   f"{self._drain()}")
            try:
                status, _ = self.get("http", "/health", timeout=2)
                if status in (200, 503):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        output = self._drain()
        self.stop()
        raise RuntimeError(f"no answer on {self.url('http', '/health')} within {self.startup_timeout}s:\n{output}")

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, as systemd, docker and Kubernetes stop it; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._drain()
        code = self.process.returncode
        self.process = None
        if self._scratch is not None:
            self._scratch.cleanup()
        return code

    def wait_for_output(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self._drain():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def output(self) -> str:
        """What the process printed so far (banner, warnings), also after stop()."""
        return self._drain()

    def _drain(self) -> str:
        if self._console.exists():
            self._output = self._console.read_text(errors="replace")
        return self._output
