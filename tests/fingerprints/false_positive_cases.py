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
    Case("a product's name inside a longer word of a script URL (cookieconsent, twlightbox, inexhibit.com)",
         PageData(url="https://magazine.example.org/", html=(
             '<html><head><script src="https://cdnjs.cloudflare.com/ajax/libs/cookieconsent2/3.1.0/'
             'cookieconsent.min.js"></script><script src="/wp-content/plugins/complianz-gdpr/core/assets/js/'
             'cookieconsent.min.js"></script><script src="https://i.media.example.net/common/js/twlightbox.js">'
             '</script><script src="//www.inexhibit.com/wp-includes/js/jquery/jquery.js"></script>'
             '</head><body>Story</body></html>')),
         frozenset({"Onsen UI", "Lightbox", "Exhibit"})),
    Case("Matomo's tracking code under its old name (piwik.php, piwik.js)",
         PageData(url="https://www.example.org/", html=(
             "<html><head><script>var _paq = window._paq = window._paq || [];\n"
             "_paq.push(['trackPageView']);\n_paq.push(['enableLinkTracking']);\n"
             "(function() {\n  var u=\"//stats.example.org/\";\n  _paq.push(['setTrackerUrl', u+'piwik.php']);\n"
             "  _paq.push(['setSiteId', '3']);\n  var d=document, g=d.createElement('script'), "
             "s=d.getElementsByTagName('script')[0];\n  g.async=true; g.src=u+'piwik.js'; "
             "s.parentNode.insertBefore(g,s);\n})();</script></head><body>Hello</body></html>")),
         frozenset({"Piwik PRO Core", "Piwik PRO"})),
    Case("a Wix page whose experiment keys name a WordPress import feature",
         PageData(url="https://www.bakery.example/", html=(
             '<html><head><meta name="generator" content="Wix.com Website Builder">'
             '<script type="application/json" id="wix-viewer-model">{"site":{"isWixSite":true},"experiments":'
             '{"specs.thunderbolt.ImportFromWordPressInsideMenu":true,"specs.thunderbolt.lazyFonts":false}}'
             '</script></head><body>Fresh bread</body></html>')),
         frozenset({"WordPress.com", "WordPress"})),
)


def failures(engine: FingerprintEngine) -> list[str]:
    """`label: technology` for each known false positive `engine` reports."""
    found = []
    for case in CASES:
        names = {d.name for d in engine.analyze(case.page)}
        found.extend(f"{case.label}: {name}" for name in sorted(case.absent & names))
    return found
