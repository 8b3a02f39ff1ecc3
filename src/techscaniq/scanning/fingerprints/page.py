"""What the engine looks at for one page: the response, plus optional extras the scan gathered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class DomElement:
    """An element a browser selected for a `dom` selector: its text, attributes and JS properties."""

    text: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PageData:
    """One page. `headers` keep repeats (several Set-Cookie lines); a mapping is accepted too.

    The browser-mode fields (`js`, `dom`, `xhr`) are None/empty for a plain HTTP scan; `js` maps a property
    chain (e.g. "jQuery.fn.jquery") to its value as a string, `dom` maps a selector to the elements it
    selected; `FingerprintEngine.browser_queries()` lists what to evaluate.
    """

    url: str = ""
    headers: Sequence[tuple[str, str]] | Mapping[str, str] = ()
    html: str = ""
    robots: str | None = None
    dns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    cert_issuer: str | None = None
    css: str | None = None  # fetched stylesheets, when enabled
    script_contents: Sequence[str] = ()  # fetched external scripts, matched like inline scripts
    cookies: Mapping[str, str] | None = None  # extra cookies, e.g. the browser's jar
    js: Mapping[str, str] | None = None
    dom: Mapping[str, Sequence[DomElement]] | None = None
    xhr: Sequence[str] = ()

    def header_pairs(self) -> list[tuple[str, str]]:
        if isinstance(self.headers, Mapping):
            return [(str(k), str(v)) for k, v in self.headers.items()]
        return [(str(k), str(v)) for k, v in self.headers]
