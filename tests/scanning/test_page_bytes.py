"""A body sent as text/html that is binary is flagged and not analysed as HTML; one that is not valid UTF-8 is
analysed as browsers show it and flagged; a clean page (and UTF-16 text, full of NUL bytes) is not flagged.
Scans of a real site on loopback."""

from __future__ import annotations

import codecs

from tests.support.testsite import LocalSite

from techscaniq.domain.scan import BINARY_BODY, ScanResult, ScanStatus
from techscaniq.scanning.page_bytes import page_bytes_problem
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

PAGE = '<html><head><meta name="generator" content="WordPress 6.4.2"><title>t</title></head><body>{}</body></html>'
# A PNG header, then a generator tag: in a binary body even a match is noise, not the site's stack.
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + PAGE.format("").encode() + bytes(range(256))


async def test_binary_and_invalid_utf8_pages_are_flagged_and_a_clean_page_is_not(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/binary", body=BINARY)
    local_site.route("/latin1", body=PAGE.format("caf\xe9 cr\xe8me").encode("latin-1"))  # labelled utf-8
    local_site.route("/clean", body=PAGE.format("café crème").encode())
    scans: dict[str, ScanResult] = {}
    async with MonitoringSystem(settings, serve_http=False) as system:
        for path in ("/binary", "/latin1", "/clean"):
            config_id = await system.add_monitoring_config({
                "organization_id": "org", "name": path.strip("/"), "url": local_site.url(path),
                "schedule": {"type": "interval", "expression": "1h"},
            })
            scan = await system.scan_now(config_id, wait=True, wait_seconds=60)
            assert isinstance(scan, ScanResult) and scan.status is ScanStatus.SUCCESS
            scans[path] = scan

    assert scans["/binary"].analysis_errors[BINARY_BODY] == (
        "the body is binary, not a page (byte 0x1a at offset 6, sent as text/html; charset=utf-8): "
        "not analysed as HTML")
    assert "WordPress" not in {t.name for t in scans["/binary"].technologies}

    assert scans["/latin1"].analysis_errors["page"] == (
        "the body is not valid UTF-8 (byte 0xe9 at offset 93): analysed with replacement characters")
    assert ("WordPress", "6.4.2") in {(t.name, t.version) for t in scans["/latin1"].technologies}

    assert "page" not in scans["/clean"].analysis_errors and BINARY_BODY not in scans["/clean"].analysis_errors
    assert ("WordPress", "6.4.2") in {(t.name, t.version) for t in scans["/clean"].technologies}


def test_utf16_text_and_declared_encodings_are_not_binary_or_invalid() -> None:
    text = PAGE.format("café")
    undeclared = page_bytes_problem(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), None, "text/html")
    assert undeclared is not None and not undeclared.binary  # text, though read as UTF-8 it is not valid
    assert page_bytes_problem(text.encode("utf-16"), "utf-16", "text/html") is None
    assert page_bytes_problem(text.encode("latin-1"), "iso-8859-1", "text/html") is None
    assert page_bytes_problem(b"line\tone\r\nline two\x0c\x1b[0m", None, None) is None  # text controls
