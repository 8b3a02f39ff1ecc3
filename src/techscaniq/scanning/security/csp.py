"""Content-Security-Policy: parsing (header and <meta http-equiv>) and the Observatory's CSP test."""

from __future__ import annotations

from dataclasses import dataclass, field

from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.csp_sources import NONCE_OR_HASH, intersect
from techscaniq.scanning.security.grading import finding

TEST = "content-security-policy"

_MIN_POLICY_LENGTH = len("img-src") - 1
_DISALLOWED_IN_META = frozenset({"frame-ancestors", "report-uri", "sandbox"})
_ALLOWED_DUPLICATES = frozenset({"report-uri", "report-to"})
_DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_BROAD_OR_INLINE = _DANGEROUSLY_BROAD | _UNSAFE_INLINE
_PASSIVE_DIRECTIVES = ("img-src", "media-src")
_MAX_HEADER = 16_384  # hostile headers are cut, never parsed whole


class CspSyntaxError(ValueError):
    """The policy cannot be parsed (empty, too short or a repeated directive)."""


@dataclass
class Policy:
    """Directive -> allowed sources, after combining every policy the page enforces."""

    directives: dict[str, set[str]] = field(default_factory=dict)
    duplicate_warnings: set[str] = field(default_factory=set)

    def get(self, directive: str) -> set[str] | None:
        return self.directives.get(directive)

    def __len__(self) -> int:
        return len(self.directives)


def split_policies(values: list[str]) -> list[str]:
    """Several headers (or one comma-joined header) are several policies; commas never occur inside one."""
    return [part.strip() for value in values for part in value[:_MAX_HEADER].split(",")]


# Fetch directives that fall back to default-src when a policy does not set them (the ones graded here).
_FALLS_BACK_TO_DEFAULT = ("script-src", "style-src", "object-src", "img-src", "media-src", "connect-src",
                          "font-src", "frame-src", "child-src", "worker-src", "manifest-src")


def _parse_one(policy_text: str, *, meta: bool, duplicates: set[str]) -> dict[str, set[str]]:
    cleaned = policy_text.replace("\r", "").replace("\n", "").strip()
    if len(cleaned) < _MIN_POLICY_LENGTH:
        raise CspSyntaxError(f"policy {cleaned!r} is too short to be valid")
    directives: dict[str, set[str]] = {}
    for entry in cleaned.split(";"):
        tokens = entry.split()
        if not tokens:
            continue
        directive, sources = tokens[0].lower(), {token.lower() for token in tokens[1:]}
        if meta and directive in _DISALLOWED_IN_META:
            continue  # browsers ignore it in <meta>, so a repeat of it is no duplicate either
        if directive in directives:
            if directive in _ALLOWED_DUPLICATES:
                duplicates.add(directive)
                continue
            raise CspSyntaxError(f"directive {directive!r} is repeated in one policy")
        if not sources and directive.endswith("-src"):
            sources = {"'none'"}
        directives[directive] = sources
    return directives


def _effective(policy: dict[str, set[str]], directive: str) -> set[str] | None:
    """What one policy allows for a directive: its own list, else its default-src; None when unrestricted."""
    if directive in policy:
        return policy[directive]
    return policy.get("default-src") if directive in _FALLS_BACK_TO_DEFAULT else None


def parse_policies(policies: list[str], *, meta: bool = False, meta_policies: list[str] | None = None) -> Policy:
    """Parse policies (`meta`: from <meta>, plus any `meta_policies`) into one effective policy. Every policy
    is enforced, so each directive allows only what every policy allows for it, each policy's `default-src`
    standing in for a fetch directive that policy does not set. Raises CspSyntaxError."""
    result = Policy()
    parsed = [_parse_one(text, meta=meta, duplicates=result.duplicate_warnings) for text in policies] + [
        _parse_one(text, meta=True, duplicates=result.duplicate_warnings) for text in meta_policies or []]
    if len(parsed) == 1:
        result.directives = parsed[0]
        return result
    names = {name for policy in parsed for name in policy}
    if "default-src" in names:
        names.update(_FALLS_BACK_TO_DEFAULT)
    for name in sorted(names):
        restrictions = [sources for policy in parsed if (sources := _effective(policy, name)) is not None]
        if restrictions:
            combined = set(restrictions[0])
            for sources in restrictions[1:]:
                combined = intersect(combined, sources)
            result.directives[name] = combined
    return result


def _has_nonce_or_hash(sources: set[str]) -> bool:
    return any(source.startswith(NONCE_OR_HASH) for source in sources)


def csp_test(
    header_values: list[str], meta_values: list[str], report_only: list[str], *, https: bool
) -> SecurityFinding:
    """Grade the page's policies (headers plus meta) the way the Observatory does. Meta policies cannot set
    `frame-ancestors`, `report-uri` or `sandbox` (browsers ignore them there)."""
    raw = "; ".join(header_values + meta_values)[:_MAX_HEADER] or None
    header_policies, meta_policies = split_policies(header_values), split_policies(meta_values)
    try:
        header_csp = parse_policies(header_policies)
        meta_csp = parse_policies(meta_policies, meta=True)
        csp = parse_policies(header_policies, meta_policies=meta_policies)
    except CspSyntaxError as exc:
        return finding(TEST, "csp-header-invalid", raw, error=str(exc))
    if len(header_csp) + len(meta_csp) == 0:
        if report_only:
            return finding(TEST, "csp-not-implemented-but-reporting-enabled", report_only[0][:_MAX_HEADER])
        return finding(TEST, "csp-not-implemented", raw)

    default_src = csp.get("default-src")
    script_src = set(csp.get("script-src") or default_src or {"*"})
    style_src = set(csp.get("style-src") or default_src or {"*"})
    object_src = set(csp.get("object-src") or default_src or {"*"})

    # Browsers ignore 'unsafe-inline' when a nonce or hash is present.
    for sources in (script_src, style_src):
        if _has_nonce_or_hash(sources):
            sources.discard("'unsafe-inline'")

    result: str | None = None
    if "'strict-dynamic'" in script_src:
        if _has_nonce_or_hash(script_src):
            script_src = {
                source for source in script_src
                if not any(source.startswith(broad) for broad in _DANGEROUSLY_BROAD)
                and source not in ("'self'", "'unsafe-inline'")
            }
        else:
            result = "csp-header-invalid"

    active_sources = [
        source for directive, sources in csp.directives.items()
        if directive not in _PASSIVE_DIRECTIVES and directive != "script-src" for source in sources
    ] + list(script_src)
    passive_sources = [
        source for directive in _PASSIVE_DIRECTIVES for source in (csp.get(directive) or default_src or set())
    ]

    def first(candidate: str) -> None:
        nonlocal result
        if result is None:
            result = candidate

    flags: dict[str, bool] = {}
    flags["unsafe_inline"] = bool(script_src & _BROAD_OR_INLINE or object_src & _DANGEROUSLY_BROAD)
    if flags["unsafe_inline"]:
        first("csp-implemented-with-unsafe-inline")
    flags["insecure_scheme_active"] = https and any(s.startswith(("http:", "ftp:")) for s in active_sources)
    if flags["insecure_scheme_active"]:
        first("csp-implemented-with-insecure-scheme")
    flags["unsafe_eval"] = "'unsafe-eval'" in (script_src | style_src)
    if flags["unsafe_eval"]:
        first("csp-implemented-with-unsafe-eval")
    flags["insecure_scheme_passive"] = https and any(s.startswith(("http:", "ftp:")) for s in passive_sources)
    if flags["insecure_scheme_passive"]:
        first("csp-implemented-with-insecure-scheme-in-passive-content-only")
    flags["unsafe_inline_style"] = bool(style_src & _BROAD_OR_INLINE)
    if flags["unsafe_inline_style"]:
        first("csp-implemented-with-unsafe-inline-in-style-src-only")
    flags["default_none"] = default_src == {"'none'"}
    first("csp-implemented-with-no-unsafe" + ("-default-src-none" if flags["default_none"] else ""))
    flags["anti_clickjacking"] = not ((csp.get("frame-ancestors") or {"*"}) & _DANGEROUSLY_BROAD)
    flags["insecure_base_uri"] = bool((csp.get("base-uri") or {"*"}) & _BROAD_OR_INLINE)
    flags["insecure_form_action"] = bool((csp.get("form-action") or {"*"}) & _DANGEROUSLY_BROAD)
    flags["strict_dynamic"] = "'strict-dynamic'" in (csp.get("script-src") or default_src or set())

    assert result is not None
    outcome = finding(
        TEST, result, raw,
        policy={directive: sorted(sources) for directive, sources in sorted(csp.directives.items())},
        http=bool(header_values), meta=bool(meta_values), **flags,
    )
    if outcome.passed and csp.duplicate_warnings:
        duplicates = finding(TEST, "csp-implemented-but-duplicate-directives", raw, **outcome.data)
        duplicates.data["duplicates"] = sorted(csp.duplicate_warnings)
        return duplicates
    return outcome

