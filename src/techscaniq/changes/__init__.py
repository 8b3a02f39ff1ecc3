"""Change detection against the site's history: technology, performance, security and availability."""

from techscaniq.changes.detector import ChangeDetector, detect_changes
from techscaniq.changes.feedback import mark_false_positive, refresh_false_positive_rate
from techscaniq.changes.impact import DEFAULT_IMPACTS, ImpactTable
from techscaniq.changes.policy import DetectionPolicy
from techscaniq.changes.reanalysis import Reanalyze

__all__ = [
    "DEFAULT_IMPACTS",
    "ChangeDetector",
    "DetectionPolicy",
    "ImpactTable",
    "Reanalyze",
    "detect_changes",
    "mark_false_positive",
    "refresh_false_positive_rate",
]
