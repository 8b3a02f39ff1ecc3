"""Technology changes: added, removed, version upgraded/downgraded, categories changed.

Noise control, replayed over the stored history (oldest to newest) so it needs no memory:
- a detection with confidence >= min_confidence is *strong*; below it, *weak*;
- a technology becomes present when seen (weak or strong) in the last S scans in a row, or at once when
  seen strongly and it has not been flapping (toggled present/absent at most once in the last
  stability_window scans) - so a genuine addition is reported on the scan that shows it;
- it becomes absent only after S scans in a row without it: an absence is missing evidence (an error page,
  a bot wall, a partial body), so one is never enough;
- otherwise it keeps its state, so flapping reports nothing.
A change is the difference between the state computed for the previous scan and for this one.

Fingerprint database updates: history scans analysed with another fingerprint version (and not
re-analysed, see reanalysis.py) are "foreign"; a difference that depends on one is marked data_change.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from techscaniq.changes.context import TECHNOLOGY_ANALYZER, DetectionContext, clip, has_content, stable_state
from techscaniq.changes.versions import compare_versions
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.technology import Detection
from techscaniq.domain.technology_names import name_key

TECHNOLOGY = ChangeKind.TECHNOLOGY
ABSENT, WEAK, STRONG = 0, 1, 2
MAX_PATTERNS = 10


def technology_usable(scan: ScanResult) -> bool:
    """Technologies were analysed on the site's real page. A scan with neither a fingerprint version nor
    detections was not analysed (technologies were off in its config): it is no evidence of absence."""
    analysed = scan.fingerprint_version is not None or bool(scan.technologies)
    return has_content(scan) and analysed and TECHNOLOGY_ANALYZER not in scan.analysis_errors


def _detections(scan: ScanResult) -> dict[str, Detection]:
    """By canonical name: a scan stored with "TYPO3 CMS" and one with "TYPO3" show the same product."""
    return {name_key(detection.name): detection for detection in scan.technologies}


def settled_presence(observations: Sequence[int], stable: int, flap_window: int) -> bool | None:
    """observations newest first; True present, False absent, None never settled."""
    if all(o == STRONG for o in observations):
        return True  # the common case: a steady technology
    chronological = list(reversed(observations))
    flips = [0] + [int((a > ABSENT) != (b > ABSENT)) for a, b in pairwise(chronological)]
    state: bool | None = None
    for j, seen in enumerate(chronological):
        recent = chronological[max(0, j - stable + 1): j + 1]
        toggles = sum(flips[max(1, j - flap_window + 2): j + 1])  # changes inside the last flap_window scans
        if len(recent) == stable and all(o > ABSENT for o in recent):
            state = True
        elif len(recent) == stable and all(o == ABSENT for o in recent):
            state = False
        elif seen == STRONG and toggles <= 1:
            state = True
    if state is None and all(o == ABSENT for o in observations):
        return False  # never seen: plainly absent
    return state


def _only_security_headers(detection: Detection, headers: set[str]) -> bool:
    """A "technology" seen only through a security header (the database's HSTS entry): its coming and
    going is reported once, as that header's change, not twice."""
    return bool(detection.evidence) and all(
        e.source == "headers" and (e.key or "").lower() in headers for e in detection.evidence
    )


def pattern_evidence(detection: Detection) -> list[dict[str, Any]]:
    return [
        {"source": e.source, "key": e.key, "pattern": clip(e.pattern), "matched": clip(e.matched),
         "version": e.version, "confidence": e.confidence}
        for e in detection.evidence[:MAX_PATTERNS]
    ]


Index = dict[str, dict[str, Detection]]  # scan id -> name_key -> detection, built once per run


def _last_seen(scans: Sequence[ScanResult], name: str, index: Index) -> tuple[ScanResult, Detection] | None:
    for scan in scans:
        detection = index[scan.id].get(name)
        if detection is not None:
            return scan, detection
    return None


def _versions(scans: Sequence[ScanResult], name: str, index: Index) -> list[tuple[ScanResult, str]]:
    """(scan, version) for the scans where the technology showed a version, newest first."""
    found = []
    for scan in scans:
        detection = index[scan.id].get(name)
        if detection is not None and detection.version:
            found.append((scan, detection.version))
    return found


def detect_technologies(ctx: DetectionContext) -> list[Change]:
    if not ctx.config.scan_config.technologies or not technology_usable(ctx.current):
        return []
    policy = ctx.policy
    usable = [scan for scan in ctx.history if technology_usable(scan)][: policy.history_window]
    covered = set(policy.security_headers)
    if not usable or _steady([ctx.current, *usable], policy.min_confidence, covered):
        return []
    before_window = usable
    after_window = [ctx.current, *usable[: policy.history_window - 1]]
    version = ctx.current.fingerprint_version
    # Scans that decide a transition (this one and the S before it) read with another database: data change.
    foreign = any(scan.fingerprint_version != version for scan in after_window[: policy.stability_scans + 1])
    maps: Index = {scan.id: _detections(scan) for scan in [ctx.current, *usable]}
    min_confidence = policy.min_confidence

    def observations(window: Sequence[ScanResult], name: str) -> list[int]:
        found = [maps[scan.id].get(name) for scan in window]
        return [ABSENT if d is None else STRONG if d.confidence >= min_confidence else WEAK for d in found]

    names = sorted({name for detections in maps.values() for name, d in detections.items()
                    if not _only_security_headers(d, covered)})
    added: list[Change] = []
    removed: list[Change] = []
    changes: list[Change] = []
    previous = usable[0]
    for name in names:
        was = settled_presence(observations(before_window, name), policy.stability_scans, policy.stability_window)
        now = settled_presence(observations(after_window, name), policy.stability_scans, policy.stability_window)
        if now and (was is False or (was is None and len(before_window) >= policy.stability_scans)):
            if seen := _last_seen(after_window, name, maps):
                # Compared with the newest scan that did not show it (the one before for a prompt addition).
                without = next((scan for scan in before_window if name not in maps[scan.id]), previous)
                added.append(_added(ctx, without, seen[1], after_window, foreign, maps))
        elif was and now is False:
            if seen := _last_seen(before_window, name, maps):
                removed.append(_removed(ctx, seen[0], seen, after_window, foreign))
        elif was and now and name in maps[ctx.current.id]:
            changes += _updated(ctx, maps[ctx.current.id][name], before_window, after_window, maps)
    added, removed = _fold_implied(added), _fold_implied(removed)
    _pair_replacements(ctx, added, removed, maps, previous)
    return added + removed + changes


def _steady(scans: Sequence[ScanResult], min_confidence: int, covered: set[str]) -> bool:
    """The common case, decided cheaply: every scan of the window shows the same technologies (names,
    strength, versions, categories), so every state is the same before and now and nothing changed.
    Scans of a baseline share one list for a repeated stack, so each distinct list is read once."""
    signatures: dict[int, frozenset[tuple[object, ...]]] = {}
    first: frozenset[tuple[object, ...]] | None = None
    for scan in scans:
        signature = signatures.get(id(scan.technologies))
        if signature is None:
            signature = signatures[id(scan.technologies)] = frozenset(
                (key, d.confidence >= min_confidence, d.version, tuple(sorted(d.categories)),
                 _only_security_headers(d, covered))
                for key, d in _detections(scan).items()
            )
        if first is None:
            first = signature
        elif signature != first:
            return False
    return True


def _fold_implied(changes: list[Change]) -> list[Change]:
    """PHP and MySQL implied by WordPress are inferences, not sightings: when WordPress comes or goes they
    are named in its change ("implies") instead of raising changes of their own."""
    by_name = {change.subject: change for change in changes}

    def implier(change: Change) -> Change | None:
        if change.evidence.get("observed"):
            return None
        return next((by_name[n] for n in change.evidence.get("implied_by", []) if n in by_name), None)

    kept = []
    for change in changes:
        root, seen = implier(change), {change.subject}
        while root is not None and (parent := implier(root)) is not None and parent.subject not in seen:
            seen.add(root.subject)
            root = parent
        if root is None:
            kept.append(change)
        else:
            root.evidence.setdefault("implies", []).append(change.subject)
            # Alert rules naming an implied technology still match (they read evidence["technologies"]).
            root.evidence["technologies"] = [root.subject, *root.evidence["implies"]]
    return kept


def _added(
    ctx: DetectionContext, previous: ScanResult, detection: Detection, window: Sequence[ScanResult], foreign: bool,
    index: Index,
) -> Change:
    key = name_key(detection.name)
    present_in = [scan.id for scan in window if key in index[scan.id]][: ctx.policy.stability_scans]
    return ctx.change(
        TECHNOLOGY, "added", detection.name, previous=previous, before=None,
        after={"version": clip(detection.version), "categories": detection.categories},
        impact=ctx.impacts.impact("technology", "added", [detection.name], detection.categories),
        evidence={
            "confidence": detection.confidence, "categories": detection.categories, "version": clip(detection.version),
            "patterns": pattern_evidence(detection), "implied_by": detection.implied_by[:MAX_PATTERNS],
            "observed": bool(detection.evidence), "present_in_scans": present_in,
            "fingerprint_versions": {"before": previous.fingerprint_version, "after": ctx.current.fingerprint_version},
        },
        data_change=foreign,
    )


def _removed(
    ctx: DetectionContext,
    previous: ScanResult,
    seen: tuple[ScanResult, Detection],
    window: Sequence[ScanResult],
    foreign: bool,
) -> Change:
    last_scan, detection = seen
    absent_in = [scan.id for scan in window[: ctx.policy.stability_scans]]
    return ctx.change(
        TECHNOLOGY, "removed", detection.name, previous=previous,
        before={"version": clip(detection.version), "categories": detection.categories}, after=None,
        impact=ctx.impacts.impact("technology", "removed", [detection.name], detection.categories),
        evidence={
            "categories": detection.categories, "last_seen_scan_id": last_scan.id,
            "last_confidence": detection.confidence, "previous_patterns": pattern_evidence(detection),
            "implied_by": detection.implied_by[:MAX_PATTERNS], "observed": bool(detection.evidence),
            "absent_in_scans": absent_in,
            "fingerprint_versions": {"before": previous.fingerprint_version, "after": ctx.current.fingerprint_version},
        },
        data_change=foreign,
    )


def _updated(
    ctx: DetectionContext, current: Detection, history: Sequence[ScanResult], window: Sequence[ScanResult],
    index: Index,
) -> list[Change]:
    """Version and category changes of a technology present before and now. A version is judged with
    stable_state over the scans that showed one, so two back ends serving different versions do not
    raise an upgrade and a downgrade every other scan; an unknown version is never a change."""
    changes: list[Change] = []
    key = name_key(current.name)
    known, shown = _versions(history, key, index), _versions(window, key, index)
    policy = ctx.policy
    old = stable_state([v for _, v in known], policy.stability_scans, policy.stability_window) if known else None
    new = stable_state([v for _, v in shown], policy.stability_scans, policy.stability_window) if shown else None
    if current.version and old and new == current.version and old != new:
        scan = next(scan for scan, version in known if version == old)
        delta = compare_versions(old, current.version)
        impact = ctx.impacts.impact("technology", delta.direction, [current.name], [delta.level], current.categories)
        changes.append(ctx.change(
            TECHNOLOGY, delta.direction, current.name, previous=scan, before=clip(old), after=clip(current.version),
            impact=impact,
            evidence={"level": delta.level, "categories": current.categories, "confidence": current.confidence,
                      "patterns": pattern_evidence(current)},
            data_change=scan.fingerprint_version != ctx.current.fingerprint_version,
        ))
    seen = _last_seen(history, key, index)
    if seen and sorted(seen[1].categories) != sorted(current.categories):
        scan, old_detection = seen
        changes.append(ctx.change(
            TECHNOLOGY, "category_changed", current.name, previous=scan,
            before=sorted(old_detection.categories), after=sorted(current.categories),
            impact=ctx.impacts.impact("technology", "category_changed", [current.name]),
            evidence={"fingerprint_versions": {"before": scan.fingerprint_version,
                                               "after": ctx.current.fingerprint_version}},
            data_change=scan.fingerprint_version != ctx.current.fingerprint_version,
        ))
    return changes


def _pair_replacements(
    ctx: DetectionContext, added: list[Change], removed: list[Change], maps: dict[str, dict[str, Detection]],
    previous: ScanResult,
) -> None:
    """WordPress out and Drupal in is one re-platforming: both changes say so and carry the impact of a
    replacement in their shared category. The removal is confirmed S scans after the addition, so the
    partner is found in the scans around it, not only among this scan's changes."""
    now = maps[ctx.current.id]
    for change in added:
        partners = [d for name, d in maps[previous.id].items() if name not in now]
        _mark(ctx, change, "replaces", partners)
    for change in removed:
        last_seen = maps.get(change.evidence["last_seen_scan_id"], {})
        partners = [d for name, d in now.items() if name not in last_seen]
        _mark(ctx, change, "replaced_by", partners)


def _mark(ctx: DetectionContext, change: Change, key: str, partners: list[Detection]) -> None:
    if change.data_change:
        return
    own = set(change.evidence["categories"])
    for partner in partners:
        shared = sorted(own & set(partner.categories))
        if not shared:
            continue
        impact = ctx.impacts.impact("technology", "replaced", shared)
        change.evidence.setdefault(key, []).append(partner.name)
        if impact.rank > change.impact.rank:
            change.impact = impact
