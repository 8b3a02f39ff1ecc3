"""Runs the system in the foreground: banner, then until SIGINT/SIGTERM, then a clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import TextIO

from pydantic import ValidationError

from techscaniq import __version__
from techscaniq.accounts.first_run import setup_link
from techscaniq.backends_check import first_unreachable
from techscaniq.observability.metrics import REGISTRY
from techscaniq.observability.process import retain_freed_memory
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

_STATE_MARK = {"running": "OK ", "degraded": "WARN", "failed": "FAIL", "stopped": "--  "}


def banner(system: MonitoringSystem, setup_link: str | None = None) -> str:
    mode = "embedded (SQLite, in-process bus)" if system.settings.embedded else "scale-out"
    lines = [
        "=" * 64,
        f"  TechScanIQ Continuous Monitoring {__version__}",
        f"  mode: {mode}    instance: {system.instance_id}",
        "=" * 64,
    ]
    for component in system.components.values():
        mark = _STATE_MARK.get(component.state, component.state)
        lines.append(f"  [{mark}] {component.name:<16} {component.state:<8} {component.detail}")
    lines.append("=" * 64)
    if "api" in system.ports:
        lines.append(f"  health:    http://localhost:{system.ports['api']}/health")
        lines.append(f"  dashboard: http://localhost:{system.ports['api']}/")
    if "websocket" in system.ports:
        lines.append(f"  websocket: ws://localhost:{system.ports['websocket']}/ws  stats: /stats")
    if setup_link is not None:
        lines.append("  first run: no user yet. Create the first owner and organization (the link works once):")
        lines.append(f"    {setup_link}")
    elif "api" in system.ports:
        lines.append(f"  sign in:   http://localhost:{system.ports['api']}/static/login.html with your account;")
        lines.append("             scripts use an API key (dashboard: Access) or techscaniq token --organization <org>")
    lines.append("  Ctrl+C stops the system cleanly (press it twice to stop at once).")
    return "\n".join(lines)


async def run_forever(settings: Settings | None = None, out: TextIO = sys.stdout) -> int:
    try:
        system = MonitoringSystem(settings)
    except ValidationError as exc:  # a bad setting: say which, no traceback
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            print(f"error: invalid setting {exc.title}.{field}: {error['msg']}", file=sys.stderr)
        return 2
    unreachable = await first_unreachable(system.settings)
    if unreachable is not None:
        print(unreachable.message(), file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():  # the second Ctrl-C: the person does not want to wait
            print("  stopped at once; interrupted scans run again at the next start.", file=out, flush=True)
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await system.start()
    except Exception as exc:  # a backend failing half-way: one line, the details are in the log file
        print(f"error: could not start: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        await _quiet_stop(system)
        return 1
    busy = _ports_in_use(system)
    if busy:
        for line in busy:
            print(line, file=sys.stderr)
        await system.stop()
        return 1
    print(banner(system, await setup_link(system.api_services)), file=out, flush=True)
    failed = [c.name for c in system.components.values() if c.state == "failed"]
    if failed:
        print(f"  components failed to start: {', '.join(failed)}", file=out, flush=True)
    await stop.wait()
    print(f"  stopping: waiting up to {system.settings.shutdown_grace_seconds:.0f} s "
          f"(SHUTDOWN_GRACE_SECONDS) for {_scans_in_flight()} scan(s) in flight and queued events to "
          "finish; Ctrl+C again stops at once.", file=out, flush=True)
    await system.stop()
    print("  stopped cleanly.", file=out, flush=True)
    return 0


def _scans_in_flight() -> int:
    return int(REGISTRY.get_sample_value("techscaniq_scans_in_flight") or 0)


PORT_SETTINGS = {"api": "HTTP_PORT", "websocket": "WEBSOCKET_PORT"}


def _ports_in_use(system: MonitoringSystem) -> list[str]:
    """A server that could not listen ends the process: a monitor without its API is no use to anyone."""
    return [f"error: {PORT_SETTINGS[name]}={port}: cannot listen on {system.settings.host}:{port} (in use by "
            f"another process?): stop that process, or set {PORT_SETTINGS[name]} to a free port"
            for name, port in (("api", system.settings.http_port), ("websocket", system.settings.websocket_port))
            if name in system.components and system.components[name].state == "failed"]


async def _quiet_stop(system: MonitoringSystem) -> None:
    with contextlib.suppress(Exception):
        await system.storage.close()


def main() -> int:
    retain_freed_memory()  # a long-running process: reuse the memory each scan frees
    try:
        return asyncio.run(run_forever())
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place (while starting)
        print("  interrupted while starting.", file=sys.stderr)
        return 130
