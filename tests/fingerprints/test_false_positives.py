"""Evidence inside another host's URL is not evidence about the site; known false positives stay gone."""

from __future__ import annotations

from tests.fingerprints.false_positive_cases import CASES, failures

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, builtin_database_path, load_database
from techscaniq.scanning.fingerprints.database import database_from_json
from techscaniq.scanning.fingerprints.foreign import in_foreign_url

# Patterns as broad as the ones that produced the false positives in the community database.
BROAD = database_from_json({
    "WordPress": {"cats": [1], "html": ["/wp-(?:content|includes)/"], "implies": ["PHP"]},
    "PHP": {"cats": [27], "scripts": ["\\.php(?:\\?|$)"], "html": ["\\.php\\?"]},
    # A name with anything before it in a script URL; a bare name or identifier in inline scripts.
    "Onsen UI": {"cats": [26], "scriptSrc": ["/.*onsen.*\\.js"]},
    "Lightbox": {"cats": [59], "scriptSrc": ["lightbox.{0,20}\\.js"]},
    "Exhibit": {"cats": [59], "scriptSrc": ["exhibit.*\\.js"]},
    "Piwik PRO": {"cats": [10], "scripts": ["piwik"], "excludes": ["Matomo Analytics"]},
    "Matomo Analytics": {"cats": [10], "scripts": ["_paq\\.push"]},
    "WordPress.com": {"cats": [62], "scripts": ["ImportFromWordPressInsideMenu"], "implies": ["WordPress"]},
})


def test_known_false_positives_do_not_come_back() -> None:
    assert CASES
    assert failures(FingerprintEngine(BROAD)) == []
    assert failures(FingerprintEngine(load_database(builtin_database_path()))) == []


def test_the_same_evidence_on_the_sites_own_urls_still_detects() -> None:
    engine = FingerprintEngine(BROAD)
    for url in ("https://blog.example.org/", "https://example.org/"):
        own = PageData(url=url, html='<img src="https://cdn.example.org/wp-content/uploads/a.jpg">'
                                     '<a href="/index.php?p=2">next</a>')
        assert {d.name for d in engine.analyze(own)} == {"WordPress", "PHP"}
    relative = PageData(url="https://site.test/", html='<img src="/wp-content/uploads/a.jpg">')
    assert "WordPress" in {d.name for d in engine.analyze(relative)}
    # A later match on the site's own URL counts even when the first one is in another host's URL.
    mixed = PageData(url="https://site.test/", html='<a href="https://other.test/wp-content/x">x</a>'
                                                    '<img src="/wp-content/uploads/a.jpg">')
    assert "WordPress" in {d.name for d in engine.analyze(mixed)}


def test_a_name_counts_where_it_starts_a_word_or_is_code() -> None:
    engine = FingerprintEngine(BROAD)
    page = PageData(url="https://app.example.org/", html=(
        '<script src="/lib/onsenui/js/onsenui.min.js"></script><script src="/js/lightbox-plus-jquery.min.js">'
        '</script><script>var tracker = Piwik.getTracker(u + "p.php", 3);</script>'))
    assert {d.name for d in engine.analyze(page)} == {"Onsen UI", "Lightbox", "Piwik PRO"}
    matomo = next(case.page for case in CASES if "piwik.php" in case.page.html)
    # With the mention gone, Piwik PRO's `excludes` no longer hides the Matomo that is there.
    assert {d.name for d in engine.analyze(matomo)} == {"Matomo Analytics"}
    assert "Matomo Analytics" in {d.name for d in FingerprintEngine(load_database(builtin_database_path()))
                                  .analyze(matomo)}


def test_where_a_match_sits() -> None:
    text = 'x "https://other.test/wp-content/a" y /wp-content/b "//cdn.other.test/wp-content/c"'
    assert in_foreign_url(text, text.index("/wp-content/a"), "site.test")
    assert not in_foreign_url(text, text.index("/wp-content/b"), "site.test")
    assert in_foreign_url(text, text.index("/wp-content/c"), "site.test")
    assert not in_foreign_url(text, text.index("/wp-content/a"), "other.test")
    assert not in_foreign_url(text, text.index("/wp-content/a"), None)  # unknown page host: no judgement
