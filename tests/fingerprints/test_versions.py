"""A version comes from the best evidence on the page, and a value that is not a version is never shown."""

from __future__ import annotations

from typing import Any

from techscaniq.scanning.fingerprints import FingerprintEngine, PageData
from techscaniq.scanning.fingerprints.database import database_from_json

ENGINE = FingerprintEngine(database_from_json({
    "Shopwise": {"cats": [6], "meta": {"generator": "^Shopwise ([\\d.]+)\\;version:\\1"},
                 "scriptSrc": ["/plugins/shopwise/.+\\.js\\?ver=([\\d.]+)\\;version:\\1"]},
    "jQuery": {"cats": [59], "scriptSrc": ["jquery[.-][^\"'<>]*\\.js\\?ver=([\\d.]+)\\;version:\\1"]},
    "Wikiware": {"cats": [8], "meta": {"generator": "^Wikiware ?(.+)$\\;version:\\1"}},
    "Gridkit": {"cats": [66], "scriptSrc": ["gridkit[.-]?([\\w.]*)\\.js\\;version:\\1",
                                            "plugins/[\\w-]*-(\\d+)/gridkit\\.js\\;version:\\1"]},
    "Trackr": {"cats": [10], "scriptSrc": ["trackr\\.js\\?id=(UA)-\\;version:\\1"]},
}))


def detect(html: str) -> dict[str, Any]:
    return {d.name: d.version for d in ENGINE.analyze(PageData(url="https://site.test/", html=html))}


def scripts(*sources: str) -> str:
    return "".join(f'<script src="{source}"></script>' for source in sources)


def test_a_generator_tag_beats_a_bundled_files_query_string() -> None:
    html = ('<meta name="generator" content="Shopwise 7.2.0">'
            + scripts("/wp-content/plugins/shopwise/assets/js/jquery-blockui/jquery.blockUI.min.js?ver=2.7.0"))
    assert detect(html)["Shopwise"] == "7.2.0"
    # Without the generator tag, the file in the product's own folder is the best evidence left.
    assert detect(scripts("/wp-content/plugins/shopwise/assets/js/jquery.blockUI.min.js?ver=2.7.0"))[
        "Shopwise"] == "2.7.0"


def test_a_query_string_of_another_products_file_is_not_the_products_version() -> None:
    assert detect(scripts("/wp-includes/js/jquery/jquery.min.js?ver=3.6.1"))["jQuery"] == "3.6.1"
    slider = detect(scripts("/wp-content/plugins/slider/public/jquery.themepunch.tools.min.js?ver=2.7.0"))
    assert slider == {"jQuery": None}  # detected, but the slider's version is not jQuery's
    both = detect(scripts("/slider/jquery.themepunch.tools.min.js?ver=2.7.0", "/js/jquery.min.js?ver=3.6.1"))
    assert both["jQuery"] == "3.6.1"


def test_a_long_version_is_kept_whole() -> None:
    assert detect('<meta name="generator" content="Wikiware 1.28.0-wmf.23">')["Wikiware"] == "1.28.0-wmf.23"


def test_values_that_are_not_versions_are_dropped() -> None:
    assert detect(scripts("/assets/gridkit.2c61d81b4e.js")) == {"Gridkit": None}  # a content hash
    assert detect(scripts("/wp-content/plugins/contact-form-7/gridkit.js")) == {"Gridkit": None}  # a slug
    assert detect(scripts("/assets/gridkit-5.3.2.js")) == {"Gridkit": "5.3.2"}
    assert detect(scripts("https://t.test/trackr.js?id=UA-1")) == {"Trackr": None}  # a label
