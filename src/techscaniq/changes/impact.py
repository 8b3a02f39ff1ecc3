"""How much each kind of change matters, as data. Keys are "<kind>.<change_type>" optionally narrowed by
":<qualifier>" (a technology name or category, a header, a metric, a severity step). Deployments
override single entries through DetectionPolicy.impact_overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from techscaniq.domain.common import Impact

LOW, MEDIUM, HIGH, CRITICAL = Impact.LOW, Impact.MEDIUM, Impact.HIGH, Impact.CRITICAL

# A site's platform: replacing or losing one of these is a re-platforming, not a tweak.
CORE_CATEGORIES = ("CMS", "Ecommerce", "Web frameworks", "JavaScript frameworks", "Web servers", "Blogs")
SECURITY_CATEGORIES = ("Security",)
# Marketing and measurement tags come and go weekly.
MARKETING_CATEGORIES = (
    "Analytics", "Tag managers", "Advertising", "Marketing automation", "Retargeting", "Cookie compliance",
    "RUM", "A/B Testing", "Font scripts", "Widgets", "Live chat", "Surveys", "Personalisation",
    "Segmentation", "Customer data platform", "SEO", "Affiliate programs",
)


def _by_category(change_type: str, categories: Iterable[str], impact: Impact) -> dict[str, Impact]:
    return {f"technology.{change_type}:{category}": impact for category in categories}


DEFAULT_IMPACTS: dict[str, Impact] = {
    "technology.added": LOW,
    "technology.removed": MEDIUM,
    **_by_category("added", CORE_CATEGORIES, MEDIUM),
    **_by_category("removed", CORE_CATEGORIES, HIGH),
    **_by_category("replaced", CORE_CATEGORIES, HIGH),
    **_by_category("removed", SECURITY_CATEGORIES, HIGH),
    **_by_category("removed", MARKETING_CATEGORIES, LOW),
    "technology.replaced": MEDIUM,
    "technology.upgraded": LOW,
    "technology.upgraded:major": MEDIUM,
    "technology.downgraded": MEDIUM,
    "technology.version_changed": LOW,
    "technology.category_changed": LOW,
    "performance.regressed": MEDIUM,
    "performance.regressed:severe": HIGH,  # more than twice the threshold
    "performance.recovered": LOW,
    "performance.improved": LOW,
    "security.degraded": MEDIUM,
    "security.degraded:2_steps": HIGH,
    "security.improved": LOW,
    "security.finding_added": MEDIUM,
    "security.finding_added:low": LOW,
    "security.finding_added:high": HIGH,
    "security.finding_added:critical": CRITICAL,
    "security.finding_changed": LOW,
    "security.finding_resolved": LOW,
    "security.added": LOW,
    "security.removed": MEDIUM,
    "security.removed:content-security-policy": HIGH,
    "security.removed:strict-transport-security": HIGH,
    "security.weakened": MEDIUM,
    "security.strengthened": LOW,
    "security.changed": LOW,
    "security.replaced": LOW,  # renewals are routine
    "security.issuer_changed": MEDIUM,
    "security.untrusted": HIGH,
    "security.trusted": LOW,
    "security.expiring": LOW,
    "security.expiring:30": LOW,
    "security.expiring:14": MEDIUM,
    "security.expiring:7": HIGH,
    "security.expired": CRITICAL,
    "security.downgraded": MEDIUM,
    "security.upgraded": LOW,
    "security.protocol_offered": MEDIUM,
    "security.protocol_offered:TLSv1.0": HIGH,
    "security.protocol_offered:TLSv1.1": HIGH,
    "security.protocol_offered:SSLv3": CRITICAL,
    "security.protocol_offered:SSLv2": CRITICAL,
    "security.protocol_withdrawn": LOW,
    "availability.down": CRITICAL,
    "availability.up": LOW,
    "availability.changed": MEDIUM,
    "availability.changed:4xx": HIGH,
    "availability.changed:2xx": LOW,
    "availability.redirect_changed": MEDIUM,
    "availability.redirect_changed:host": HIGH,
    "availability.redirect_changed:insecure": HIGH,
}


class ImpactTable:
    """Looks an impact up: the most specific key wins; among several matching qualifiers of the same
    rank (a technology's categories), the highest impact wins."""

    def __init__(self, overrides: Mapping[str, Impact] | None = None) -> None:
        self._table = {**DEFAULT_IMPACTS, **(overrides or {})}

    def impact(self, kind: str, change_type: str, *qualifier_groups: Iterable[str]) -> Impact:
        """`qualifier_groups` most specific first, e.g. ([name], categories)."""
        base = f"{kind}.{change_type}"
        for group in qualifier_groups:
            found = [self._table[key] for q in group if (key := f"{base}:{q}") in self._table]
            if found:
                return max(found, key=lambda impact: impact.rank)
        return self._table.get(base, LOW)
