"""Users telling the system a change was wrong. The false-positive ratio is the product's quality gauge."""

from __future__ import annotations

from techscaniq.observability.metrics import CHANGE_FALSE_POSITIVE_RATE, CHANGES_FALSE_POSITIVE
from techscaniq.storage.protocols import ChangeRepository


async def refresh_false_positive_rate(changes: ChangeRepository) -> float:
    total = await changes.count()
    marked = await changes.count(false_positive=True)
    ratio = marked / total if total else 0.0
    CHANGE_FALSE_POSITIVE_RATE.set(ratio)
    return ratio


async def mark_false_positive(
    changes: ChangeRepository, change_id: str, organization_id: str | None, value: bool = True
) -> bool:
    """Marks (or, with value=False, unmarks) a change; False when no such change is visible to the
    organization. Keeps techscaniq_change_false_positive_ratio current."""
    existing = await changes.get(change_id, organization_id)
    if existing is None or not await changes.mark_false_positive(change_id, organization_id, value):
        return False
    if value and not existing.false_positive:
        CHANGES_FALSE_POSITIVE.inc()
    await refresh_false_positive_rate(changes)
    return True
