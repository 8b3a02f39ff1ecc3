"""Set-Cookie parsing and the Observatory's cookie test (Secure, HttpOnly, SameSite, session cookies)."""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import finding

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
    name = parts[0].split("=", 1)[0].strip()
    if not name:
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


def _worse(candidate: str, current: str | None) -> str:
    if current is None or _ORDER.index(candidate) > _ORDER.index(current):
        return candidate
    return current


def cookies_test(set_cookie_headers: list[str], *, hsts_passed: bool) -> SecurityFinding:
    cookies = [cookie for header in set_cookie_headers[:_MAX_COOKIES] if (cookie := parse_set_cookie(header))]
    cookies = [cookie for cookie in cookies if cookie.name not in _IGNORED]
    if not cookies:
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
        cookies={cookie.name: cookie.as_dict() for cookie in cookies},
    )
