"""Detection quality of the built-in set, the community database and both merged, over real pages.

    .venv/bin/python scripts/detection_quality.py [--pages DIR] [--fingerprints DIR]

Pages: every `*.html` / `*.html.gz` under DIR (default: ../shared/corpus/pages, plus the corpus's real
header+body responses). Community database: DIR (default ../shared/fingerprints/webappanalyzer).
For each set it prints detections, pages with a detection and versions; then, for the merged set,
duplicates by canonical name (two detections of one product on one page), detections and versions the
merge lost against either set alone, versions by the kind of evidence they came from, and the result
of the known-false-positive suite (tests/fingerprints/false_positives.yaml) with each set.
Exits 1 when a figure that must be 0 is not. Skips cleanly when the pages or the database are absent.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fingerprints"))

from bench.bench_fingerprints import COMMUNITY, PAGES, load_pages, load_responses  # noqa: E402

from techscaniq.domain.technology import Detection  # noqa: E402
from techscaniq.domain.technology_names import name_key  # noqa: E402
from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, builtin_database_path, load_database  # noqa: E402
from techscaniq.scanning.fingerprints.versions import rank_name  # noqa: E402


def read_pages(directory: Path | None) -> list[PageData]:
    """The pages of `directory` (no URLs), or the corpus: its pages (with their URLs where the corpus records
    them, so evidence in other hosts' URLs is judged) and its header+body responses."""
    pages: list[PageData] = []
    if directory is not None:
        for file in sorted([*directory.rglob("*.html"), *directory.rglob("*.html.gz")]):
            raw = file.read_bytes()
            html = (gzip.decompress(raw) if file.suffix == ".gz" else raw).decode("utf-8", "replace")
            pages.append(PageData(url="", html=html))
        return pages
    for response in [*load_pages(), *load_responses()]:
        headers = [(k, v) for k, values in response["headers"].items() for v in values]
        pages.append(PageData(url=response["url"], headers=headers, html=response["body"]))
    return pages


def detections(engine: FingerprintEngine, pages: list[PageData]) -> list[list[Detection]]:
    return [engine.analyze(page) for page in pages]


def figures(found: list[list[Detection]]) -> dict[str, int]:
    return {"detections": sum(map(len, found)), "pages": sum(1 for page in found if page),
            "versions": sum(1 for page in found for d in page if d.version)}


def corpus_arguments(description: str | None) -> argparse.Namespace | None:
    """--pages and --fingerprints of the corpus scripts; None (after saying so) when the shared data is absent."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, help="a directory of .html/.html.gz pages")
    parser.add_argument("--fingerprints", type=Path, default=COMMUNITY)
    args = parser.parse_args()
    if not args.fingerprints.exists() or not (args.pages or PAGES).is_dir():
        print(f"skipped: {args.fingerprints} or {args.pages or PAGES} is not present")
        return None
    return args


def main() -> int:
    args = corpus_arguments(__doc__)
    if args is None:
        return 0
    pages = read_pages(args.pages)
    sets = {"built-in": [builtin_database_path()], "community": [args.fingerprints],
            "merged": [builtin_database_path(), args.fingerprints]}
    engines = {label: FingerprintEngine(load_database(paths)) for label, paths in sets.items()}
    results = {label: detections(engine, pages) for label, engine in engines.items()}
    print(f"{len(pages)} pages")
    print("| set | detections | pages with one | versions |\n|---|---|---|---|")
    for label, found in results.items():
        row = figures(found)
        print(f"| {label} | {row['detections']} | {row['pages']} | {row['versions']} |")

    duplicates: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    lost_versions: Counter[str] = Counter()
    by_rank: Counter[str] = Counter()
    for index, merged in enumerate(results["merged"]):
        keys = Counter(name_key(d.name) for d in merged)
        duplicates.update(key for key, count in keys.items() if count > 1)
        mine = {name_key(d.name): d for d in merged}
        for label in ("built-in", "community"):
            for detection in results[label][index]:
                kept = mine.get(name_key(detection.name))
                if kept is None:
                    lost[f"{detection.name} ({label})"] += 1
                elif detection.version and not kept.version:
                    lost_versions[f"{detection.name} ({label})"] += 1
        for detection in merged:
            if detection.version:
                by_rank[version_source(detection)] += 1
    print(f"\nmerged set: duplicates by canonical name {sum(duplicates.values())} {dict(duplicates.most_common(5))}")
    print(f"detections lost by merging {sum(lost.values())} {dict(lost.most_common(5))}")
    print(f"versions lost by merging {sum(lost_versions.values())} {dict(lost_versions.most_common(5))}")
    print("versions by evidence: " + ", ".join(f"{rank} {count}" for rank, count in by_rank.most_common()))

    from false_positive_cases import failures  # tests/fingerprints/false_positive_cases.py

    false_positives = {label: failures(engine) for label, engine in engines.items()}
    for label, failed in false_positives.items():
        print(f"false-positive suite with the {label} set: {len(failed)} failing {failed[:5]}")
    bad = sum(duplicates.values()) + sum(lost.values()) + len(false_positives["merged"])
    return 1 if bad else 0


def version_source(detection: Detection) -> str:
    chosen: Any = next((e for e in detection.evidence if e.version == detection.version), None)
    return rank_name(chosen, detection.name) if chosen is not None else "implied"


if __name__ == "__main__":
    sys.exit(main())
