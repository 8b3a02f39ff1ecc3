"""Does hyperscan ever say "no" where `re` says "yes"? The engine trusts hyperscan's negative answers for the
`html` regexes (and hints) it runs, and the bundled Vectorscan has known false negatives in some pattern
combinations, so this checks the engine's real page pass against `re` on every corpus page.

    .venv/bin/python scripts/check_hyperscan_agreement.py

For every page and every `html` pattern hyperscan runs: when `re` finds the whole regex in the page, the
pass must have reported that pattern (its hint, or the regex itself). Prints each disagreement; exits 1 if
there is any. Needs ../shared (corpus pages and the community database); skips cleanly without it.
"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "corpus" / "pages"
COMMUNITY = ROOT.parent / "shared" / "fingerprints" / "webappanalyzer"


def main() -> int:
    if not (PAGES.is_dir() and COMMUNITY.is_dir()):
        print(f"skipped: {PAGES} or {COMMUNITY} is not present")
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from techscaniq.scanning.fingerprints import FingerprintEngine, load_database

    engine = FingerprintEngine(load_database(COMMUNITY))
    patterns = engine._html_patterns  # noqa: SLF001 - this script checks the engine's own pass
    supported = [i for i in engine._page_scanner.supported if i < len(patterns)]  # noqa: SLF001
    started = time.perf_counter()
    disagreements = checks = 0
    for file in sorted(PAGES.glob("*/*.html.gz")):
        html = gzip.decompress(file.read_bytes()).decode("utf-8", "replace")
        reported = engine._page_scanner.scan(html.encode("utf-8", "replace"))  # noqa: SLF001
        for index in supported:
            if index in reported:
                continue
            checks += 1
            match = patterns[index].search(html)
            if match is not None:
                disagreements += 1
                print(f"{file.name}: hyperscan missed {patterns[index].regex_text!r} (re matched {match.group(0)[:80]!r})")
    print(f"{disagreements} disagreements in {checks} negative answers ({len(supported)} regexes, "
          f"{time.perf_counter() - started:.0f} s)")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
