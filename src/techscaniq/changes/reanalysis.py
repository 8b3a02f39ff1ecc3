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
    """History (newest first) in which those of the `limit` newest technology-usable scans that were read
    with another fingerprint version are re-analysed and stamped with the current version. Only the
    newest scans decide a transition, so re-analysis stops once an update is `limit` scans old."""
    result = list(history)
    usable = [index for index, scan in enumerate(result) if technology_usable(scan)][:limit]
    for index in usable:
        scan = result[index]
        if scan.fingerprint_version == current.fingerprint_version:
            continue
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
