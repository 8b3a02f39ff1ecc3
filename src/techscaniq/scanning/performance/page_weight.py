"""Full-page weight: fetch every referenced resource concurrently (bounded) through the scan's fetcher,
then the fonts and imports its stylesheets name, and add up bytes and time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from techscaniq.domain.fetch import FetchResult
from techscaniq.scanning.performance.resources import KINDS, Resource, css_references, dedupe

Fetch = Callable[[str], Awaitable[FetchResult]]


@dataclass
class PageWeight:
    transfer_bytes: int = 0  # resources only; the analyzer adds the document
    decoded_bytes: int = 0
    elapsed_ms: float = 0.0
    fetched: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # over the resource limit, or cut by the deadline
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    discovered: list[Resource] = field(default_factory=list)  # found in stylesheets, not in the HTML
    largest: list[dict[str, Any]] = field(default_factory=list)


async def measure_page_weight(resources: list[Resource], fetch: Fetch, *, concurrency: int = 6,
                              max_resources: int = 200, deadline_seconds: float = 30.0) -> PageWeight:
    """Fetch `resources` (and what their stylesheets reference, one level) with at most `concurrency`
    requests in flight. Resources beyond `max_resources` or the deadline are counted as skipped."""
    weight = PageWeight()
    semaphore = asyncio.Semaphore(concurrency)
    sizes: list[tuple[int, str, str]] = []
    seen = {resource.url for resource in resources}
    budget = max_resources
    started = time.perf_counter()
    deadline = started + deadline_seconds

    async def one(resource: Resource) -> list[Resource]:
        try:
            async with semaphore:
                result = await fetch(resource.url)
        except Exception as exc:  # one broken resource must not lose the page's weight
            weight.failed.append({"url": resource.url, "kind": resource.kind, "reason": f"{type(exc).__name__}"})
            return []
        if not result.ok or (result.status_code or 0) >= 400:
            reason = result.error.code.value if result.error else f"HTTP {result.status_code}"
            weight.failed.append({"url": resource.url, "kind": resource.kind, "reason": reason})
            return []
        weight.fetched += 1
        weight.transfer_bytes += result.transfer_bytes
        weight.decoded_bytes += result.decoded_bytes
        weight.by_kind[resource.kind] = weight.by_kind.get(resource.kind, 0) + result.transfer_bytes
        sizes.append((result.transfer_bytes, resource.url, resource.kind))
        if resource.kind == "stylesheet":
            return css_references(result.text, result.final_url or resource.url)
        return []

    wave = list(resources)
    while wave:
        batch, budget = wave[:budget], budget - min(budget, len(wave))
        weight.skipped += len(wave) - len(batch)
        remaining = deadline - time.perf_counter()
        tasks = [asyncio.create_task(one(resource)) for resource in batch]
        done, pending = await asyncio.wait(tasks, timeout=max(remaining, 0)) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        weight.skipped += len(pending)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        found = [resource for task in done for resource in task.result()]
        wave = [resource for resource in dedupe(found) if resource.url not in seen]
        seen.update(resource.url for resource in wave)
        weight.discovered.extend(wave)
    weight.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    weight.largest = [{"url": url, "kind": kind, "transfer_bytes": size}
                      for size, url, kind in sorted(sizes, reverse=True)[:10]]
    return weight
