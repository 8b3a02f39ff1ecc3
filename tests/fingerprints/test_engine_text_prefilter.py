"""`text` patterns match the page's visible text; the prefilter that skips text extraction must not
change what they find (phrases split by tags, word boundaries)."""

from __future__ import annotations

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData
from techscaniq.scanning.fingerprints.database import database_from_json

ENGINE = FingerprintEngine(database_from_json({
    "Royal Mail": {"text": "Royal Mail"},
    "UPS": {"text": "\\bUPS\\b"},
}))


def found(html: str) -> set[str]:
    return {detection.name for detection in ENGINE.analyze(PageData(url="https://shop.test/", html=html))}


def test_a_phrase_split_by_a_tag_is_still_visible_text() -> None:
    assert found("<html><body><p>Ship with Royal<br>Mail today</p></body></html>") == {"Royal Mail"}


def test_word_boundaries_hold() -> None:
    assert found("<html><body><p>Our user groups meet weekly</p></body></html>") == set()
    assert found("<html><body><p>We ship with UPS and others</p></body></html>") == {"UPS"}


def test_markup_is_not_visible_text() -> None:
    assert found('<html><body><div class="UPS">parcel</div><!-- Royal Mail --></body></html>') == set()
