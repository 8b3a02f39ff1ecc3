"""Change detection benchmark: one site with 60 technologies, 9 security headers, performance metrics
and a certificate, scanned repeatedly with a few changes along the way.

    .venv/bin/python -m bench.bench_changes [--scans 200] [--history 20] [--stored 10,100,1000,10000]

Reports
- the pure core: scans judged per second by `detect_changes` against a full history window;
- the stage: scans per second through `ChangeDetector.handle_scan` on the real embedded SQLite storage
  (baseline row read and written, detection, idempotent insert, metrics); re-delivered scans rebuild
  their baseline from the stored history;
- cost per detection against the number of stored scans of the config (10 ... 10,000): the stage with
  its baseline, and loading the history window as before baselines (the `scans.previous` query of
  `--history` documents, then `detect_changes`).
Each next to a reference measured in the same run: decoding the history window from JSON (what loading
it from the database costs at least) for the core, the bare `scans.previous` query for the stage, and
reading one stored scan by id (`scans.get`, one indexed row) for the cost per detection.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from techscaniq.changes import ChangeDetector, DetectionPolicy, detect_changes
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.fetch import TLSInfo
from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.domain.security import SecurityReport
from techscaniq.domain.technology import Detection, Evidence
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

START = datetime(2026, 1, 1, tzinfo=UTC)
HEADERS = [("Strict-Transport-Security", "max-age=31536000"), ("Content-Security-Policy",
           "default-src 'self'; script-src 'self' 'nonce-{n}'"), ("X-Frame-Options", "DENY"),
           ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]


def config() -> MonitoringConfig:
    return MonitoringConfig.model_validate({
        "id": "bench", "organization_id": "org", "name": "bench", "url": "https://bench.example/",
        "schedule": {"type": "interval", "expression": "1h"},
        "scan_config": {"performance_thresholds": {"load_time": 20, "ttfb": 25, "size": 30}},
    })


def scans(count: int) -> list[ScanResult]:
    rng = random.Random(7)
    techs = {f"Tech{i}": Detection(name=f"Tech{i}", version=f"{i % 5}.{i % 3}.0", confidence=100 if i % 7 else 40,
                                   categories=["JavaScript libraries"],
                                   evidence=[Evidence(source="scriptSrc", pattern=f"tech{i}", matched=f"tech{i}.js")])
             for i in range(60)}
    result = []
    for n in range(count):
        if n % 50 == 25:  # now and then a real change
            techs[f"New{n}"] = Detection(name=f"New{n}", categories=["Analytics"])
        started = START + timedelta(hours=n)
        result.append(ScanResult(
            config_id="bench", organization_id="org", url="https://bench.example/", started_at=started,
            finished_at=started + timedelta(seconds=1), fingerprint_version="v1",
            response=ResponseSnapshot(final_url="https://bench.example/", status_code=200,
                                      headers=[(k, v.format(n=n)) for k, v in HEADERS]),
            technologies=list(techs.values()),
            performance=PerformanceReport(metrics={"load_time_ms": rng.gauss(1000, 50), "ttfb_ms": rng.gauss(200, 10),
                                                   "transfer_bytes": 50_000.0}),
            security=SecurityReport(score=90, grade="A", tls=TLSInfo(protocol="TLSv1.3", serial_number="01",
                                                                     not_after=START + timedelta(days=400),
                                                                     verified=True)),
        ))
    return result


def bench_core(all_scans: list[ScanResult], window: int) -> tuple[float, float, int]:
    cfg, policy = config(), DetectionPolicy(history_window=window)
    encoded = [scan.model_dump_json() for scan in all_scans]
    begin = time.perf_counter()
    found = 0
    for index in range(window, len(all_scans)):
        found += len(detect_changes(all_scans[index], all_scans[index - window:index][::-1], cfg, policy))
    core = (len(all_scans) - window) / (time.perf_counter() - begin)
    begin = time.perf_counter()
    for index in range(window, len(all_scans)):
        [ScanResult.model_validate_json(text) for text in encoded[index - window:index]]
    decode = (len(all_scans) - window) / (time.perf_counter() - begin)
    return core, decode, found


async def bench_stage(all_scans: list[ScanResult], window: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        storage = SqlStorage(settings)
        await storage.start()
        try:
            for scan in all_scans:
                await storage.scans.add(scan)
            detector, cfg = ChangeDetector(storage, DetectionPolicy(history_window=window)), config()
            # Interleaved per scan, so the machine's load affects all three alike.
            query = stage = replay = 0.0
            for scan in all_scans:
                begin = time.perf_counter()
                await storage.scans.previous(scan.config_id, before=scan.started_at, limit=window)
                query += time.perf_counter() - begin
                begin = time.perf_counter()
                await detector.handle_scan(scan, cfg)
                stage += time.perf_counter() - begin
                begin = time.perf_counter()
                await detector.handle_scan(scan, cfg)
                replay += time.perf_counter() - begin
        finally:
            await storage.close()
    count = len(all_scans)
    return count / stage, count / replay, count / query


async def bench_history_length(stored: list[int], window: int, judged: int = 40) -> list[tuple[int, float, float]]:
    """(stored scans, baseline detection / reference, window loading / reference) for each count in `stored`,
    from the median time of each.
    One database grows from count to count; at each, `judged` further scans are judged both ways (interleaved,
    so the machine's load affects all alike) after one unmeasured scan that brings the baseline up to date."""
    all_scans = scans(max(stored) + (judged + 1) * len(stored))
    policy, cfg = DetectionPolicy(history_window=window), config()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        storage = SqlStorage(settings)
        await storage.start()
        try:
            detector, position = ChangeDetector(storage, policy), 0
            for count in stored:
                while position < count:
                    await storage.scans.add(all_scans[position])
                    position += 1
                await storage.scans.add(all_scans[position])
                await detector.handle_scan(all_scans[position], cfg)
                position += 1
                reference, with_baseline, windowed = [], [], []
                for scan in all_scans[position: position + judged]:
                    await storage.scans.add(scan)
                    begin = time.perf_counter()
                    await storage.scans.get(all_scans[position - 1].id)
                    reference.append(time.perf_counter() - begin)
                    begin = time.perf_counter()
                    history = await storage.scans.previous(scan.config_id, before=scan.started_at, limit=window)
                    detect_changes(scan, history, cfg, policy)
                    windowed.append(time.perf_counter() - begin)
                    begin = time.perf_counter()
                    await detector.handle_scan(scan, cfg)
                    with_baseline.append(time.perf_counter() - begin)
                position += judged
                # Medians: a busy machine's spikes hit single calls, not the typical one.
                ref, base, win = median(reference), median(with_baseline), median(windowed)
                results.append((count, base / ref, win / ref))
                print(f"  {count:>6,} stored: {base * 1000:6.2f} ms with the baseline ({base / ref:5.1f}x the "
                      f"reference), {win * 1000:6.2f} ms loading the window ({win / ref:5.1f}x); "
                      f"reference {ref * 1000:.2f} ms", flush=True)
        finally:
            await storage.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--stored", default="10,100,1000,10000", help="stored-scan counts for the cost per detection")
    args = parser.parse_args()
    all_scans = scans(args.scans)
    core, decode, found = bench_core(all_scans, args.history)
    print(f"core: {core:,.0f} scans/s ({found} changes); decoding the history window: {decode:,.0f} windows/s; "
          f"detection costs {decode / core:.2f}x decoding")
    stage, replay, query = asyncio.run(bench_stage(all_scans, args.history))
    print(f"stage: {stage:,.0f} scans/s; re-delivered: {replay:,.0f} scans/s; bare history query: {query:,.0f}/s; "
          f"the stage costs {query / stage:.2f}x the query")
    print(f"cost per detection against stored scans (history window {args.history}):")
    asyncio.run(bench_history_length([int(n) for n in args.stored.split(",")], args.history))


if __name__ == "__main__":
    main()
