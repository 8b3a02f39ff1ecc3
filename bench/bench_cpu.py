"""CPU per check: process CPU time the embedded system spends per completed check of an unchanged real page.

    .venv/bin/python -m bench.bench_cpu [--configs 40] [--seconds 20] [--profile out.prof]

The page (a real one from ../shared/corpus/pages when present, else a synthetic 40 KB page) is served on
127.0.0.1 by a separate process, so the site's own CPU is not counted. One embedded system (SQLite, in-process
bus) monitors it under `--configs` configs scheduled every second (more than it can do: saturation); after a
warm-up, the process CPU time (user + system, every thread) over `--seconds` is divided by the checks completed
in that window (scans whose change and alert stages are done). Two modes: every step on, and no analysis step
(fetch, store, compare). The reference, measured in the same run against the same site: a bare httpx GET on a
fresh connection (what any monitor must pay to fetch the page). `--profile` writes a cProfile of the
every-step-on window."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.bench_scheduler import load_pages
from techscaniq.settings import Settings
from techscaniq.storage.sql.tables import scans
from techscaniq.system import MonitoringSystem

ROOT = Path(__file__).resolve().parents[1]
SITE_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from tests.support.testsite import LocalSite

    async def main() -> None:
        page = open(sys.argv[2], encoding="utf-8").read()
        async with LocalSite() as site:
            for index in range(int(sys.argv[1])):
                site.route(f"/page/{index}", body=page)
            print(site.port, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
""")


class SiteProcess:
    """The page served by a child process (its CPU is not ours)."""

    def __init__(self, page: Path, paths: int) -> None:
        self._page, self._paths = page, paths
        self._child: asyncio.subprocess.Process | None = None
        self.port = 0

    async def __aenter__(self) -> SiteProcess:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SITE_SCRIPT, str(self._paths), str(self._page), cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._child.stdin is not None and self._child.stdout is not None
        self.port = int((await self._child.stdout.readline()).decode())
        return self

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/page/{index}"

    async def __aexit__(self, *_: object) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.close()
        await self._child.wait()


async def reference_get(site: SiteProcess, count: int) -> float:
    """Process CPU ms per bare httpx GET of the page on a fresh connection (keep-alive off)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits) as client:
        await client.get(site.url(0))
        started = time.process_time()
        for index in range(count):
            (await client.get(site.url(index % 4))).raise_for_status()
        return (time.process_time() - started) * 1000 / count


async def completed(system: MonitoringSystem) -> int:
    query = select(func.count()).select_from(scans).where(scans.c.alerts_done.is_(True))
    async with system.storage.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def ours(site: SiteProcess, configs: int, seconds: float, steps: bool,
               profile: cProfile.Profile | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, data_dir=Path(scratch) / "data", log_dir=Path(scratch) / "logs",  # type: ignore[call-arg]
                            log_file=Path(scratch) / "run.log", allow_private_targets=True, http_port=0,
                            websocket_port=0, min_scan_interval_seconds=0, database_url=None, kafka_servers=None,
                            redis_url=None, metrics_database_url=None, elasticsearch_url=None,
                            per_host_concurrency=1000)
        scan_config: dict[str, Any] = {} if steps else {"technologies": False, "performance": False,
                                                          "security": False}
        async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
            for index in range(configs):
                await system.add_monitoring_config({
                    "organization_id": "bench", "name": f"unchanged {index}", "url": site.url(index),
                    "schedule": {"type": "interval", "expression": "1s"}, "scan_config": scan_config,
                })
            await asyncio.sleep(max(3.0, seconds / 4))  # warm-up: first scans, caches, baselines
            done_before, cpu_before, wall_before = await completed(system), time.process_time(), time.monotonic()
            if profile is not None:
                profile.enable()
            await asyncio.sleep(seconds)
            if profile is not None:
                profile.disable()
            cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
            checks = await completed(system) - done_before
    return {"checks": checks, "cpu_ms": cpu * 1000 / max(1, checks), "per_s": checks / wall,
            "cpu_share": cpu / wall}


async def main(configs: int, seconds: float, profile_path: str | None) -> None:
    [page] = load_pages(1)
    with tempfile.TemporaryDirectory() as scratch:
        page_file = Path(scratch) / "page.html"
        page_file.write_text(page, encoding="utf-8")
        async with SiteProcess(page_file, max(4, configs)) as site:
            reference = await reference_get(site, 400)
            profile = cProfile.Profile() if profile_path else None
            full = await ours(site, configs, seconds, True, profile)
            bare = await ours(site, configs, seconds, False, None)
            reference_after = await reference_get(site, 400)
    if profile is not None and profile_path:
        profile.dump_stats(profile_path)
    get = (reference + reference_after) / 2
    print(f"page {len(page.encode()):,} B; {configs} configs every 1 s; {seconds:g} s measured per mode")
    print(f"reference: bare httpx GET, fresh connection: {get:.2f} ms CPU "
          f"(before {reference:.2f}, after {reference_after:.2f})")
    for name, figures in (("every step on", full), ("no analysis step", bare)):
        print(f"{name:<17} {figures['cpu_ms']:6.2f} ms CPU/check = {figures['cpu_ms'] / get:5.1f}x the GET; "
              f"{figures['per_s']:6.1f} checks/s, {figures['checks']:.0f} checks, "
              f"process at {100 * figures['cpu_share']:.0f}% of one core")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", help="write a cProfile of the every-step-on window to this file")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.configs, arguments.seconds, arguments.profile))
