"""Speed of the security and performance steps' pure parts on real web data, against a reference.

    .venv/bin/python -m bench.bench_security [--repeat 3]

Workload (read from ../shared, skipped cleanly when it is absent):
- every response in the HAR files of ../shared/corpus/har (real header sets, Set-Cookie and CSP
  included): Observatory header grading of each, reference = building the same FetchResult;
- every page of ../shared/corpus/pages (~440 real HTML pages): the page-level work of both steps
  (header grade with SRI and meta CSP, mixed content, resource extraction), reference = parsing the
  page with Lexbor (which both steps need anyway and share);
- the grade distribution of the HAR documents, as a sanity read of the grading on real sites.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from techscaniq.domain.fetch import FetchResult, TLSInfo
from techscaniq.scanning.performance.resources import page_resources
from techscaniq.scanning.security.exposure import mixed_content, version_disclosure
from techscaniq.scanning.security.observatory import grade_headers

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"


def har_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in sorted((SHARED / "har").rglob("*.har.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as file:
            try:
                entries.extend(json.load(file)["log"]["entries"])
            except (json.JSONDecodeError, KeyError):
                continue
    return entries


def fetch_of(entry: dict[str, Any]) -> FetchResult:
    url = entry["request"]["url"]
    response = entry["response"]
    content = response.get("content") or {}
    text = content.get("text") if content.get("encoding") != "base64" else None
    return FetchResult(
        url=url, final_url=url, status_code=response.get("status") or 200,
        headers=[(header["name"], header["value"]) for header in response.get("headers", [])],
        body=(text or "").encode(), content_type=content.get("mimeType"),
        tls=TLSInfo(protocol="TLSv1.3", verified=True) if url.startswith("https") else None,
    )


def pages() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    urls: dict[str, str] = {}
    mapping = SHARED / "pages" / "scrapinghub" / "urls.json"
    if mapping.exists():
        urls = json.loads(mapping.read_text())
    for path in sorted((SHARED / "pages").rglob("*.html.gz")):
        url = urls.get(path.name) or urls.get(path.name.removesuffix(".gz")) or "https://www.example.com/article"
        found.append((url, gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")))
    return found


def timed(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent")
        return 0
    entries = har_entries()
    fetches = [fetch_of(entry) for entry in entries]
    documents = [fetch for fetch in fetches if "html" in (fetch.content_type or "")]
    corpus = pages()
    print(f"workload: {len(fetches)} HAR responses ({len(documents)} HTML documents), {len(corpus)} pages")

    build = timed(lambda: [fetch_of(entry) for entry in entries], args.repeat)
    grade = timed(lambda: [grade_headers(fetch, document=None, http_fetch=None)
                           for fetch in fetches], args.repeat)
    print(f"header grading: {len(fetches) / grade:,.0f} responses/s; building the FetchResult: "
          f"{len(fetches) / build:,.0f}/s; ratio {grade / build:.2f}")

    trees = [(url, LexborHTMLParser(html)) for url, html in corpus]
    parse = timed(lambda: [LexborHTMLParser(html) for _, html in corpus], args.repeat)
    page_fetches = [FetchResult(url=url, final_url=url, status_code=200, body=b"", content_type="text/html",
                                tls=TLSInfo(verified=True)) for url, _ in corpus]

    def page_work() -> None:
        for (url, tree), fetch in zip(trees, page_fetches, strict=True):
            grade_headers(fetch, document=tree, http_fetch=None)
            mixed_content(tree, url)
            version_disclosure(fetch)
            page_resources(tree, url)

    work = timed(page_work, args.repeat)
    size = sum(len(html) for _, html in corpus)
    print(f"page work (grade + mixed content + resources): {len(corpus) / work:,.0f} pages/s; Lexbor parse: "
          f"{len(corpus) / parse:,.0f} pages/s ({size / len(corpus) / 1024:.0f} KiB mean); ratio {work / parse:.2f}")

    grades: Counter[str] = Counter()
    results: Counter[str] = Counter()
    for fetch in documents:
        graded = grade_headers(fetch, document=LexborHTMLParser(fetch.text) if fetch.body else None,
                               http_fetch=None)
        grades[graded.grade] += 1
        results.update(finding.result for finding in graded.findings if not finding.passed)
    print("grades of the HAR documents:", dict(sorted(grades.items())))
    print("most common failed results:", results.most_common(6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
