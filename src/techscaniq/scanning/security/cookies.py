"""Set-Cookie parsing and the Observatory's cookie test (Secure, HttpOnly, SameSite, session cookies).

Only cookies a browser would store are judged, as the reference's cookie jar does: one the jar rejects
(RFC 6265bis: a Domain the page's host is not in, a public suffix, a `__Secure-`/`__Host-` prefix whose rules
are broken, no name, a Secure cookie set over plain HTTP) never reaches the site again, so it is listed
under `rejected`, not penalised.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import finding
from techscaniq.scanning.security.sites import is_public_suffix

TEST = "cookies"

# Cookie names that say "this is a session or login" (the Observatory's heuristic) or an anti-CSRF token.
_SESSION_MARKERS = ("login", "sess")
_CSRF_MARKER = "csrf"
_IGNORED = frozenset({"heroku-session-affinity"})  # set by the platform, not the site
_VALID_SAMESITE = frozenset({"strict", "lax", "none"})
_MAX_COOKIES = 200

# Worst last: a cookie can only make the result worse.
_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)


@dataclass
class Cookie:
    name: str
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None  # as written (lower-cased); "" when the attribute has no value
    domain: str | None = None
    path: str | None = None
    expires: str | None = None
    max_age: str | None = None

    @property
    def session(self) -> bool:
        lowered = self.name.lower()
        return any(marker in lowered for marker in _SESSION_MARKERS)

    @property
    def anticsrf(self) -> bool:
        return _CSRF_MARKER in self.name.lower()

    @property
    def samesite_invalid(self) -> bool:
        return self.samesite is not None and self.samesite not in _VALID_SAMESITE

    def as_dict(self) -> dict[str, object]:
        return {
            "secure": self.secure, "httponly": self.httponly, "samesite": self.samesite, "domain": self.domain,
            "path": self.path, "expires": self.expires, "max-age": self.max_age, "session": self.session,
        }


def parse_set_cookie(header: str) -> Cookie | None:
    """One Set-Cookie header value -> Cookie, or None when it names no cookie."""
    parts = header[:8192].split(";")
    name, equals, _value = parts[0].partition("=")
    name = name.strip()
    if not name or not equals:  # "=v" or a bare "v": no name, which cookie jars refuse
        return None
    cookie = Cookie(name=name)
    for attribute in parts[1:]:
        key, _, value = attribute.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.httponly = True
        elif key == "samesite":
            cookie.samesite = value.lower()
        elif key == "domain":
            cookie.domain = value
        elif key == "path":
            cookie.path = value
        elif key == "expires":
            cookie.expires = value
        elif key == "max-age":
            cookie.max_age = value
    return cookie


def _domain_matches(host: str, domain: str) -> bool:
    if host == domain:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False  # an IP address only matches itself
    except ValueError:
        return host.endswith("." + domain)


def rejection(cookie: Cookie, *, host: str, https: bool) -> str | None:
    """Why a browser's cookie jar would refuse this cookie from `host`, or None when it stores it."""
    host = host.lower().rstrip(".")
    domain = (cookie.domain or "").lower().lstrip(".").rstrip(".")
    if domain:
        if is_public_suffix(domain) and domain != host:
            return f"Domain={domain} is a public suffix"
        if not _domain_matches(host, domain):
            return f"Domain={domain} does not cover {host}"
    if cookie.secure and not https:
        # RFC 6265bis 5.7 ("Strict Secure Cookies", Chrome and Firefox 52+): a Secure cookie from a page
        # not served over HTTPS is ignored entirely. The Observatory's jar (tough-cookie) keeps it.
        return "a Secure cookie set over plain HTTP (browsers drop it)"
    lowered = cookie.name.lower()
    if lowered.startswith(("__secure-", "__host-")) and not (cookie.secure and https):
        return "a __Secure- or __Host- cookie needs Secure, set over HTTPS"
    if lowered.startswith("__host-") and (cookie.domain is not None or cookie.path != "/"):
        return "a __Host- cookie may not name a Domain and needs Path=/"
    return None


def _worse(candidate: str, current: str | None) -> str:
    if current is None or _ORDER.index(candidate) > _ORDER.index(current):
        return candidate
    return current


def cookies_test(set_cookie_headers: list[str], *, hsts_passed: bool, host: str = "", https: bool = True
                 ) -> SecurityFinding:
    """`host`/`https`: the page that set the cookies (what the cookie jar checks Domain and prefixes against)."""
    parsed = [parse_set_cookie(header) for header in set_cookie_headers[:_MAX_COOKIES]]
    rejected: dict[str, str] = {}
    cookies: list[Cookie] = []
    for cookie in parsed:
        if cookie is None:
            rejected.setdefault("", "no cookie name")
        elif cookie.name not in _IGNORED:
            why = rejection(cookie, host=host, https=https) if host else None
            if why is None:
                cookies.append(cookie)
            else:
                rejected[cookie.name] = why
    if not cookies:
        if rejected:
            return finding(TEST, "cookies-not-found", None, rejected=rejected)
        return finding(TEST, "cookies-not-found")
    result: str | None = None
    for cookie in cookies:
        if cookie.samesite_invalid or (cookie.samesite == "none" and not cookie.secure):
            result = _worse("cookies-samesite-flag-invalid", result)
        if not cookie.secure:
            result = _worse(
                "cookies-without-secure-flag-but-protected-by-hsts" if hsts_passed else "cookies-without-secure-flag",
                result,
            )
        if cookie.anticsrf and not cookie.samesite:
            result = _worse("cookies-anticsrf-without-samesite-flag", result)
        if cookie.session and not cookie.secure:
            session = (
                "cookies-session-without-secure-flag-but-protected-by-hsts" if hsts_passed
                else "cookies-session-without-secure-flag"
            )
            result = _worse(session, result)
        if cookie.session and not cookie.httponly:
            result = _worse("cookies-session-without-httponly-flag", result)
    if result is None:
        all_samesite = all(cookie.samesite for cookie in cookies)
        result = "cookies-secure-with-httponly-sessions" + ("-and-samesite" if all_samesite else "")
    return finding(
        TEST, result, "\n".join(set_cookie_headers[:_MAX_COOKIES])[:16_384],
        cookies={cookie.name: cookie.as_dict() for cookie in cookies}, rejected=rejected,
    )
