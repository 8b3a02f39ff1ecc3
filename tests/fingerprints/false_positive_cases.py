"""Known false positives: small page excerpts, written for these tests, in the shape real pages have, each
with technologies that must NOT be detected. Used by test_false_positives.py and by
scripts/detection_quality.py (which runs them with the community database too)."""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData


@dataclass(frozen=True)
class Case:
    label: str
    page: PageData
    absent: frozenset[str]


CASES = (
    Case("a /wp-content/ URL of another site inside JSON",
         PageData(url="https://news.example.org/story", html=(
             '<html><body><article>Story</article><script type="application/ld+json">{"@type":"NewsArticle",'
             '"image":"https:\\/\\/blog.partner.test\\/wp-content\\/uploads\\/2023\\/05\\/photo.jpg",'
             '"embed":"https://blog.partner.test/wp-includes/js/wp-embed.min.js"}</script>'
             '<a href="https://blog.partner.test/wp-content/uploads/report.pdf">report</a></body></html>')),
         frozenset({"WordPress"})),
    Case("a share link to facebook.com/sharer.php",
         PageData(url="https://shop.example.org/item", html=(
             '<html><body><a href="https://www.facebook.com/sharer.php?u=https%3A%2F%2Fshop.example.org">Share</a>'
             '<script>var share = "https://www.facebook.com/sharer.php?u=" + location.href;</script></body></html>')),
         frozenset({"PHP"})),
)


def failures(engine: FingerprintEngine) -> list[str]:
    """`label: technology` for each known false positive `engine` reports."""
    found = []
    for case in CASES:
        names = {d.name for d in engine.analyze(case.page)}
        found.extend(f"{case.label}: {name}" for name in sorted(case.absent & names))
    return found
