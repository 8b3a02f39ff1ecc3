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


PHRASES = FingerprintEngine(database_from_json({"Parcel Post": {"text": "\\bParcel Post\\b"}}))


def phrase_found(html: str) -> bool:
    return bool(PHRASES.analyze(PageData(url="https://shop.test/", html=html)))


def test_a_phrase_is_looked_for_as_words_next_to_each_other_in_the_html() -> None:
    [hint] = PHRASES.database.technologies["Parcel Post"].patterns[0].html_words
    assert hint == r"\bparcel(?:\s|<[^>]*>|&#?\w{1,8};)+post\b"


def test_a_phrase_across_tags_comments_and_references_is_found() -> None:
    assert phrase_found("<html><body><p>Send it by <b>Parcel</b><i>Post</i></p></body></html>")
    assert phrase_found("<html><body><p>Send it by Parcel\n<i>Post</i></p></body></html>")
    assert phrase_found("<html><body><p>Parcel<!-- x --> Post</p></body></html>")
    assert phrase_found("<html><body><p>Parcel&#32;Post</p></body></html>")


def test_the_words_of_a_phrase_apart_are_not_the_phrase() -> None:
    assert not phrase_found("<html><body><p>Parcel tracking</p><p>Post office</p></body></html>")
    assert not phrase_found("<html><body><p>Parcel</p><script>x = 1</script><p>Post</p><div>Parcelpost</div>")
