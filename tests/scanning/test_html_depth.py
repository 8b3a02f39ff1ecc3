"""Deeply nested pages are cut before any parser sees them (parse cost grows with the square of the depth)."""

from __future__ import annotations

import time

from selectolax.lexbor import LexborHTMLParser
from tests.support.testsite import LocalSite

from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.scanning.html_depth import bound_depth
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

HEAD = '<html><head><meta name="generator" content="WordPress 6.4.2"><title>t</title></head><body>'


def test_a_page_nested_past_the_limit_is_cut_before_the_tag_that_passes_it() -> None:
    page = HEAD + "<div>" * 600 + "deep text"
    kept, cut = bound_depth(page, 512)
    assert cut is not None and cut.limit == 512
    # html, body and 510 divs: the tag that would open level 513 is where the page ends.
    assert kept.count("<div>") == 510 and page.startswith(kept)
    assert cut.reason == f"HTML nested deeper than 512 levels: analysed the first {len(kept) // 1024} KB"


def test_elements_that_never_nest_do_not_count() -> None:
    page = HEAD + "<br><img src=x><p>para<li>item<td>cell" * 3000 + "</body></html>"
    assert bound_depth(page, 512) == (page, None)


def test_a_large_balanced_page_is_whole() -> None:
    page = HEAD + ("<div>" * 400 + "<span>x</span>" + "</div>" * 400) * 20 + "</body></html>"
    assert bound_depth(page, 512) == (page, None)


def test_stray_closing_tags_cannot_hide_the_openings_after_them() -> None:
    page = HEAD + "</div>" * 2000 + "<div>" * 600  # the stray closings take the count to 0, not below
    kept, cut = bound_depth(page, 512)
    assert cut is not None and kept.count("<div>") == 512


def test_the_hostile_page_is_cut_and_parsed_in_under_a_second_of_cpu() -> None:
    page = HEAD + "<div>" * 220_000  # 1.1 MB of unclosed <div>s, the hostile page of issue 15
    started = time.process_time()
    kept, cut = bound_depth(page, 512)
    LexborHTMLParser(kept)
    assert cut is not None and len(kept) < 4096
    assert time.process_time() - started < 1.0  # the whole page takes minutes of CPU to parse


async def test_a_scan_of_the_hostile_page_finishes_degraded_with_its_reason(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body=HEAD + "<div>" * 220_000)
    async with MonitoringSystem(settings, serve_http=False) as system:
        config_id = await system.add_monitoring_config({
            "organization_id": "org", "name": "nested", "url": local_site.url("/"),
            "schedule": {"type": "interval", "expression": "1h"},
        })
        scan = await system.scan_now(config_id, wait=True, wait_seconds=60)
    assert isinstance(scan, ScanResult) and scan.status is ScanStatus.SUCCESS
    assert scan.analysis_errors["page"].startswith("HTML nested deeper than 512 levels")
    assert ("WordPress", "6.4.2") in {(t.name, t.version) for t in scan.technologies}  # the head is analysed
