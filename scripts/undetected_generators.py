"""Generator tags seen in pages that no fingerprint set turns into a detection.

    .venv/bin/python scripts/undetected_generators.py [--pages DIR] [--fingerprints DIR]

For every `<meta name="generator">` value in the pages (default: the corpus, ../shared/corpus), it asks the
built-in set and the community database (default ../shared/fingerprints/webappanalyzer), merged as a scan
uses them, whether some technology's `meta generator` pattern matches it, and lists the values none matches,
most frequent first; then the values only the community database matches (the built-in set should know
every product that announces itself). Both lists are candidates for the built-in set: write the entry from
the product's public output, never from the community database.
Skips cleanly when the pages or the database are absent.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from detection_quality import corpus_arguments, read_pages  # noqa: E402

from techscaniq.scanning.fingerprints import builtin_database_path, load_database  # noqa: E402
from techscaniq.scanning.fingerprints.document import Document  # noqa: E402
from techscaniq.scanning.fingerprints.patterns import Pattern  # noqa: E402

# Version numbers and build ids vary between pages of one product: list the value with them blanked.
_NUMBERS = re.compile(r"\d[\d.]*")


def main() -> int:
    args = corpus_arguments(__doc__)
    if args is None:
        return 0
    patterns = generator_patterns([builtin_database_path(), args.fingerprints])
    ours = generator_patterns([builtin_database_path()])
    seen: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    only_theirs: Counter[str] = Counter()
    for page in read_pages(args.pages):
        for value in Document(page.html).meta.get("generator", []) if page.html else []:
            shown = _NUMBERS.sub("N", " ".join(value.split()))[:100]
            seen[shown] += 1
            if not any(pattern.search(value) for pattern in patterns):
                missed[shown] += 1
            elif not any(pattern.search(value) for pattern in ours):
                only_theirs[shown] += 1
    print(f"{sum(seen.values())} generator tags ({len(seen)} distinct); no set detects {sum(missed.values())} "
          f"({len(missed)} distinct):")
    for value, count in missed.most_common():
        print(f"{count:5}  {value}")
    print(f"only the community database detects {sum(only_theirs.values())} ({len(only_theirs)} distinct):")
    for value, count in only_theirs.most_common():
        print(f"{count:5}  {value}")
    return 0


def generator_patterns(sources: list[Path]) -> list[Pattern]:
    database = load_database(sources)
    return [p for t in database.technologies.values() for p in t.patterns
            if p.source == "meta" and p.key == "generator"]


if __name__ == "__main__":
    sys.exit(main())
