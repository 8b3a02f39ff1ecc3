"""Runs the system in the foreground: banner, then until SIGINT/SIGTERM, then a clean stop."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from pydantic import ValidationError

from techscaniq import __version__
from techscaniq.accounts.first_run import setup_link
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
    lines.append("  Ctrl+C stops the system cleanly.")
    return "\n".join(lines)


async def run_forever(settings: Settings | None = None, out: TextIO = sys.stdout) -> int:
    try:
        system = MonitoringSystem(settings)
    except ValidationError as exc:  # a bad setting: say which, no traceback
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            print(f"error: invalid setting {exc.title}.{field}: {error['msg']}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await system.start()
    print(banner(system, await setup_link(system)), file=out, flush=True)
    failed = [c.name for c in system.components.values() if c.state == "failed"]
    if failed:
        print(f"  components failed to start: {', '.join(failed)}", file=out, flush=True)
    await stop.wait()
    print("  stopping...", file=out, flush=True)
    await system.stop()
    print("  stopped cleanly.", file=out, flush=True)
    return 0


def main() -> int:
    retain_freed_memory()  # a long-running process: reuse the memory each scan frees
    return asyncio.run(run_forever())
