"""Which evidence a version comes from, and whether a captured value is a version at all.

A page can show several versions for one product: WooCommerce's generator tag says 7.2.0 while its bundled
blockUI is enqueued as `jquery.blockUI.min.js?ver=2.7.0`. Each version therefore has a rank, from the
evidence it was read from, and the best-ranked one wins (the longest on a tie):

- 3 `announced`: the product says it: a generator tag, a response header, its own global in the browser;
- 2 `file`: the version is part of a file's path or name (`jquery-3.7.1.min.js`, `/npm/vue@3.4.0/`);
- 1 `own query string`: the `?ver=` of a file named after the product (`jquery.min.js?ver=3.6.1`);
- 0 `query string`: the `?ver=` of another file in a directory the pattern names
  (`/plugins/woocommerce/.../jquery.blockUI.min.js?ver=2.7.0`), used only when nothing better is there.

A query-string version of a file matched by its name alone, a name that is not the product's (a slider's
`jquery.themepunch.tools.min.js?ver=2.7.0` read as jQuery's), says nothing about the product: dropped. So
are values that are not versions: a label ("UA"), a hash ("2c61d81b4e"), the number ending a slug
(`contact-form-7`).
"""

from __future__ import annotations

import re

from techscaniq.domain.technology import Evidence

ANNOUNCED, FILE, OWN_QUERY, QUERY = 3, 2, 1, 0
RANK_NAMES = {ANNOUNCED: "announced", FILE: "file", OWN_QUERY: "own query string", QUERY: "query string"}
_ANNOUNCING = frozenset({"meta", "headers", "js", "cookies"})
_VERSION = re.compile(r"v?\d+(?:[._+-]?[0-9A-Za-z]+)*", re.ASCII)
_HASH = re.compile(r"[0-9a-f]{7,}", re.ASCII)
_QUERY = re.compile(r"[?&;](?:ver|version|v)=$", re.IGNORECASE)
# Words of a file name that say how it is packaged, not what it is.
_PACKAGING = frozenset({"min", "js", "css", "bundle", "slim", "umd", "full", "prod", "production", "dist", "esm"})


def plausible(version: str | None) -> str | None:
    """`version` when it looks like one (starts with a digit, optionally `v`), else None."""
    if version is None or not _VERSION.fullmatch(version):
        return None
    if _HASH.fullmatch(version) and not version.isdigit():
        return None  # a content hash, not a version
    return version


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _words(segment: str) -> str:
    return "".join(w for w in re.split(r"[._\-@]", segment.lower()) if w and w not in _PACKAGING
                   and not w.isdigit())


def rank(evidence: Evidence, technology: str) -> int | None:
    """The rank of `evidence.version` for `technology` (see the module docstring), None to drop it."""
    version = plausible(evidence.version)
    if version is None:
        return None
    if evidence.source in _ANNOUNCING:
        return ANNOUNCED
    matched = evidence.matched
    at = matched.find(version)
    if at < 0:
        return FILE  # built by the template (`\1.x`): as good as the text it came from
    before = matched[:at]
    if version.isdigit() and re.search(r"[A-Za-z]-$", before) and not matched[at + len(version):].startswith("."):
        return None  # the number ending a slug: contact-form-7
    if not _QUERY.search(before):
        return FILE
    path = before.split("?")[0].split("#")[0]
    parts = path.split("/")
    product = _compact(technology)
    if _words(parts[-1]) in {product, product.removesuffix("js")}:
        return OWN_QUERY
    # The pattern pinned the file's directory (a plugin's own folder, `/plugins/revslider/`): its own file.
    return QUERY if len(parts) > 1 else None


def rank_name(evidence: Evidence, technology: str) -> str:
    ranked = rank(evidence, technology)
    return RANK_NAMES[ranked] if ranked is not None else "dropped"


def best_version(evidence: list[Evidence], technology: str, implied: list[str]) -> str | None:
    """The best-ranked version the evidence shows (the longest on a tie, the first seen on a tie again);
    a version an `implies` tag gives counts as a file's when nothing is observed."""
    best: tuple[int, int] | None = None
    chosen: str | None = None
    for item in evidence:
        ranked = rank(item, technology)
        if ranked is not None and item.version and (best is None or (ranked, len(item.version)) > best):
            best, chosen = (ranked, len(item.version)), item.version
    if chosen is None:
        versions = [v for v in implied if plausible(v)]
        chosen = max(versions, key=len) if versions else None
    return chosen
