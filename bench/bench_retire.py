"""Cost of the Retire.js library extractors on real pages, against parsing the same pages.

    .venv/bin/python -m bench.bench_retire [--repeat 3]

Workload (read from ../shared, skipped cleanly when it is absent): every page of ../shared/corpus/pages
(~440 real HTML pages) and every JavaScript response body in ../shared/corpus/har. Per page: the extractors
over its script URLs and inline scripts (what the security step reads without a full-page fetch);
reference = parsing the page with Lexbor (which the scan does anyway). Per script body: the extractors over
the body (what a full-page scan adds); reference = decoding the body from UTF-8 and hashing it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections import Counter

from selectolax.lexbor import LexborHTMLParser

from bench.bench_security import ROOT, timed
from techscaniq.scanning.security.advisories import load_database
from techscaniq.scanning.security.retire import RetireExtractors

# ../shared from a checkout at /work/main, or from a worktree one level deeper (/work/wt/<name>).
SHARED = next((path / "shared" / "corpus" for path in (ROOT.parent, ROOT.parent.parent)
               if (path / "shared" / "corpus").exists()), ROOT.parent / "shared" / "corpus")


def pages() -> list[tuple[str, str]]:
    urls: dict[str, str] = {}
    mapping = SHARED / "pages" / "scrapinghub" / "urls.json"
    if mapping.exists():
        urls = json.loads(mapping.read_text())
    found: list[tuple[str, str]] = []
    for path in sorted((SHARED / "pages").rglob("*.html.gz")):
        url = urls.get(path.name) or urls.get(path.name.removesuffix(".gz")) or "https://www.example.com/article"
        found.append((url, gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")))
    return found


def script_bodies() -> list[bytes]:
    bodies: list[bytes] = []
    for path in sorted((SHARED / "har").rglob("*.har.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as file:
            try:
                entries = json.load(file)["log"]["entries"]
            except (json.JSONDecodeError, KeyError):
                continue
        for entry in entries:
            content = entry.get("response", {}).get("content") or {}
            if "javascript" in (content.get("mimeType") or "") and content.get("text") \
                    and content.get("encoding") != "base64":
                bodies.append(content["text"].encode())
    return bodies


def page_inputs(html: str, url: str) -> tuple[list[str], list[tuple[str, str]]]:
    tree = LexborHTMLParser(html)
    srcs = [node.attributes.get("src") or "" for node in tree.css("script[src]")]
    inline = [(f"inline script #{n}", node.text() or "") for n, node in enumerate(tree.css("script:not([src])"))]
    return [src if "//" in src else url.rstrip("/") + "/" + src.lstrip("/") for src in srcs if src], inline


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (SHARED / "pages").exists():
        print(f"skipped: {SHARED} is absent")
        return 0
    extractors = load_database().extractors
    assert isinstance(extractors, RetireExtractors)
    corpus = pages()
    inputs = [page_inputs(html, url) for url, html in corpus]
    found: Counter[str] = Counter()
    incomplete = 0

    def extract_pages() -> None:
        nonlocal incomplete
        found.clear()
        incomplete = 0
        for urls, inline in inputs:
            outcome = extractors.scan(urls, inline)
            found.update(s.component for s in outcome.sightings)
            incomplete += outcome.incomplete is not None

    extract_seconds = timed(extract_pages, args.repeat)
    parse_seconds = timed(lambda: [LexborHTMLParser(html) for _, html in corpus], args.repeat)
    print(f"pages: {len(corpus)}; extractors {extract_seconds * 1000 / len(corpus):.2f} ms/page, "
          f"Lexbor parse {parse_seconds * 1000 / len(corpus):.2f} ms/page, "
          f"ratio {extract_seconds / parse_seconds:.2f}; "
          f"incomplete {incomplete}; libraries found: {dict(found.most_common(8))}")

    bodies = script_bodies()
    if bodies:
        texts = [body.decode("utf-8", errors="replace") for body in bodies]
        body_found: Counter[str] = Counter()

        def extract_bodies() -> None:
            body_found.clear()
            for index, text in enumerate(texts):
                body_found.update(s.component for s in extractors.scan([], [(f"body {index}", text)]).sightings)

        body_seconds = timed(extract_bodies, args.repeat)
        reference = timed(lambda: [hashlib.sha1(body.decode("utf-8", "replace").encode()).digest() for body in bodies],
                          args.repeat)
        megabytes = sum(len(body) for body in bodies) / 1e6
        print(f"script bodies: {len(bodies)} ({megabytes:.1f} MB); "
              f"extractors {body_seconds / megabytes * 1000:.0f} ms/MB, "
              f"decode+SHA-1 {reference / megabytes * 1000:.1f} ms/MB, ratio {body_seconds / reference:.0f}; "
              f"libraries found: {dict(body_found.most_common(8))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
