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


def test_where_a_match_sits() -> None:
    text = 'x "https://other.test/wp-content/a" y /wp-content/b "//cdn.other.test/wp-content/c"'
    assert in_foreign_url(text, text.index("/wp-content/a"), "site.test")
    assert not in_foreign_url(text, text.index("/wp-content/b"), "site.test")
    assert in_foreign_url(text, text.index("/wp-content/c"), "site.test")
    assert not in_foreign_url(text, text.index("/wp-content/a"), "other.test")
    assert not in_foreign_url(text, text.index("/wp-content/a"), None)  # unknown page host: no judgement
