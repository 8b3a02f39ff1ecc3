"""Bringing history up to the current fingerprint database before comparing technologies.

When the database was updated between scans, the previous scans' detections are re-computed from their
stored response bodies with the new database (by a callback the scanner provides), so only what the
site changed shows up. Scans that cannot be re-analysed keep their old version and make any technology
difference that depends on them a data change (see technology.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from techscaniq.changes.technology import technology_usable
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.technology import Detection

log = logging.getLogger(__name__)

# Re-runs technology detection on a stored scan's response with the current database; None when it cannot.
Reanalyze = Callable[[ScanResult], Awaitable[list[Detection] | None]]


async def reanalyse_history(
    current: ScanResult, history: Sequence[ScanResult], reanalyze: Reanalyze, limit: int
) -> list[ScanResult]:
    """History (newest first) with up to `limit` of its newest technology-usable scans of another
    fingerprint version re-analysed and stamped with the current version."""
    result = list(history)
    budget = limit
    for index, scan in enumerate(result):
        if budget <= 0:
            break
        if not technology_usable(scan) or scan.fingerprint_version == current.fingerprint_version:
            continue
        budget -= 1
        try:
            detections = await reanalyze(scan)
        except Exception:  # a broken stored body must not stop change detection
            log.exception("re-analysis of scan %s failed; its differences will be marked data changes", scan.id)
            continue
        if detections is not None:
            result[index] = scan.model_copy(
                update={"technologies": detections, "fingerprint_version": current.fingerprint_version}
            )
    return result
