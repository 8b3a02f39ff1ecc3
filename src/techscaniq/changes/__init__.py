"""Change detection against the site's history: technology, performance, security and availability.

    changes = detect_changes(scan, history, config, policy)      # pure; history newest first
    changes, after = judge(scan, baseline, config, policy)       # pure; against the config's baseline
    stored = await ChangeDetector(storage, policy, reanalyze).handle_scan(scan, config)  # the stage
    await mark_false_positive(storage.changes, change_id, organization_id)              # API / CLI

Every stateful rule is recomputed over the history window for the previous scan and for this one; a
change is the difference. The stage keeps that window per config in one baseline row (baseline.py) and
rebuilds it from the stored history whenever it is not current, so restarts and replicas agree, and
re-processing a scan stores nothing new.

Vocabulary (type / change_type / subject), with default impacts in impact.py:
- technology / added, removed / the name (added at once when seen with confidence >= min_confidence
  and not flapping, else after S=stability_scans sightings in a row; removed after S scans without it);
  upgraded, downgraded, version_changed (evidence.level: major|minor|patch|other); category_changed.
  A CMS / e-commerce / framework / web server replaced: evidence.replaces / replaced_by, high impact.
  Implied technologies ride in the implier's change (evidence.implies). data_change=True (impact low)
  when the difference comes from a fingerprint database update rather than the site.
- performance / regressed (after K=consecutive_scans breaching scans), recovered, improved / the
  canonical metric (load_time_ms, ttfb_ms, transfer_bytes, fcp_ms, lcp_ms, ...).
- security / added, removed, weakened, strengthened, changed / the header name;
  degraded, improved / "grade"; finding_added, finding_changed, finding_resolved / the test
  (vulnerable-library:<library> per library); replaced, issuer_changed, untrusted, trusted,
  expiring (30/14/7 days), expired / "certificate"; upgraded, downgraded, changed / "tls_protocol";
  degraded, improved / "tls_grade" (the TLS rating); protocol_offered, protocol_withdrawn / the protocol
  (SSLv3, TLSv1.0 .. TLSv1.3) in the TLS rating's probe.
- availability / down (after K=availability_consecutive failed or 5xx scans), up / "site";
  changed / "status_code" (class change held for K scans); redirect_changed / "final_url".
"""

from techscaniq.changes.detector import ChangeDetector, detect_changes, judge
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
    "judge",
    "mark_false_positive",
    "refresh_false_positive_rate",
]
