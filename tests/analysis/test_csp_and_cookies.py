"""CSP and Set-Cookie parsing: the corner cases the grade depends on."""

from __future__ import annotations

import pytest

from techscaniq.scanning.security.cookies import parse_set_cookie
from techscaniq.scanning.security.csp import CspSyntaxError, csp_test, parse_policies, split_policies


def test_directives_and_sources_are_lowercased_and_empty_src_means_none() -> None:
    policy = parse_policies(["Default-Src 'SELF' https://CDN.example.com; img-src; upgrade-insecure-requests"])
    assert policy.directives == {
        "default-src": {"'self'", "https://cdn.example.com"}, "img-src": {"'none'"}, "upgrade-insecure-requests": set(),
    }


def test_two_policies_allow_only_what_both_allow() -> None:
    policy = parse_policies(split_policies(["script-src 'self' https://a.example, script-src 'self'"]))
    assert policy.directives["script-src"] == {"'self'"}


@pytest.mark.parametrize("bad", ["", "abc", "script-src 'self'; script-src 'none'"])
def test_unparseable_policies_raise(bad: str) -> None:
    with pytest.raises(CspSyntaxError):
        parse_policies([bad])


def test_meta_policy_cannot_set_frame_ancestors() -> None:
    finding = csp_test([], ["default-src 'self'; frame-ancestors 'none'"], [], https=True)
    assert finding.result == "csp-implemented-with-no-unsafe"
    assert "frame-ancestors" not in finding.data["policy"]
    assert finding.data["meta"] is True


def test_nonce_neutralises_unsafe_inline() -> None:
    finding = csp_test(["default-src 'self'; script-src 'nonce-r4nd0m' 'unsafe-inline'"], [], [], https=True)
    assert finding.result == "csp-implemented-with-no-unsafe"


def test_strict_dynamic_drops_allowlist_and_needs_a_nonce() -> None:
    good = csp_test(["default-src 'self'; script-src 'nonce-x' 'strict-dynamic' https: 'unsafe-inline'"], [], [],
                    https=True)
    assert good.result == "csp-implemented-with-no-unsafe"
    assert good.data["strict_dynamic"] is True
    bad = csp_test(["object-src 'none'; script-src 'strict-dynamic' 'self'"], [], [], https=True)
    assert bad.result == "csp-header-invalid"


def test_http_sources_only_matter_on_https_pages() -> None:
    header = ["default-src 'self'; connect-src http://api.example.com"]
    assert csp_test(header, [], [], https=True).result == "csp-implemented-with-insecure-scheme"
    assert csp_test(header, [], [], https=False).result == "csp-implemented-with-no-unsafe"


def test_missing_object_src_counts_as_unrestricted() -> None:
    assert csp_test(["script-src 'self'"], [], [], https=True).result == "csp-implemented-with-unsafe-inline"


def test_hostile_header_is_cut_not_parsed_whole() -> None:
    finding = csp_test(["default-src 'self' " + "https://x.example " * 100_000], [], [], https=True)
    assert finding.result == "csp-implemented-with-no-unsafe"
    assert finding.value is not None and len(finding.value) <= 16_384


def test_set_cookie_attributes() -> None:
    cookie = parse_set_cookie("SESSIONID=abc=def; Path=/; Domain=.example.com; Secure; HttpOnly; SameSite=Strict; "
                              "Max-Age=3600")
    assert cookie is not None
    assert (cookie.name, cookie.secure, cookie.httponly, cookie.samesite) == ("SESSIONID", True, True, "strict")
    assert (cookie.domain, cookie.path, cookie.max_age, cookie.session) == (".example.com", "/", "3600", True)


def test_cookie_without_name_is_ignored_and_bare_samesite_is_invalid() -> None:
    assert parse_set_cookie("=value; Secure") is None
    cookie = parse_set_cookie("theme=dark; SameSite")
    assert cookie is not None and cookie.samesite_invalid
