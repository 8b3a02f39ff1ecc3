"""The one table of who may do what: every HTTP route and WebSocket action with the least role allowed.

`None` is a public route (no credentials: probes, docs, the dashboard's files, sign-in and setup). A route
that has no row is refused to everyone (least privilege), and tests/api/test_permissions.py fails until
the row is added — so a new route is never open by accident."""

from __future__ import annotations

from techscaniq.api.auth import Role

PUBLIC = None
V, E, A = Role.VIEWER, Role.EDITOR, Role.ADMIN

# (method, path template) -> least role. HEAD follows GET; a mount (static files) is a GET of its prefix.
ROUTES: dict[tuple[str, str], Role | None] = {
    # probes, documentation, the dashboard's files
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/init.js"): PUBLIC,
    ("GET", "/redoc/init.js"): PUBLIC,
    ("GET", "/docs-assets"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/"): PUBLIC,
    # credentials
    ("POST", "/api/v1/auth/token"): PUBLIC,  # the API key in the body is the credential
    ("GET", "/api/v1/auth/me"): V,
    ("POST", "/api/v1/auth/revoke"): V,  # its own token; another's needs admin (checked in the route)
    # first run, dashboard sessions
    ("GET", "/api/v1/setup"): PUBLIC,
    ("POST", "/api/v1/setup"): PUBLIC,  # the one-time setup token is the credential
    ("POST", "/api/v1/session"): PUBLIC,  # sign in: email and password
    ("GET", "/api/v1/session"): V,
    ("DELETE", "/api/v1/session"): V,
    ("POST", "/api/v1/session/sign-out-everywhere"): V,
    ("PUT", "/api/v1/session/organization"): V,  # switch to another organization one belongs to
    # people and keys
    ("GET", "/api/v1/members"): A,
    ("PUT", "/api/v1/members/{user_id}"): A,  # making or unmaking an owner needs owner (checked in the route)
    ("DELETE", "/api/v1/members/{user_id}"): A,
    ("GET", "/api/v1/api-keys"): A,
    ("POST", "/api/v1/api-keys"): A,
    ("DELETE", "/api/v1/api-keys/{key_id}"): A,
    ("POST", "/api/v1/invitations"): A,
    ("POST", "/api/v1/invitations/accept"): PUBLIC,  # the invitation's token is the credential
    ("GET", "/api/v1/invitations"): A,
    ("DELETE", "/api/v1/invitations/{invitation_id}"): A,  # an owner's invitation needs owner (checked in the route)
    ("POST", "/api/v1/password-reset"): PUBLIC,  # emails a link; answers the same for any address
    ("POST", "/api/v1/password-reset/complete"): PUBLIC,  # the reset token is the credential
    ("POST", "/api/v1/members/{user_id}/password-reset"): A,  # an owner's needs owner (checked in the route)
    ("POST", "/api/v1/session/totp"): V,
    ("POST", "/api/v1/session/totp/confirm"): V,
    ("DELETE", "/api/v1/session/totp"): V,
    ("GET", "/api/v1/sso"): A,
    ("PUT", "/api/v1/sso"): Role.OWNER,
    ("DELETE", "/api/v1/sso"): Role.OWNER,
    ("GET", "/api/v1/sso/{organization_id}/login"): PUBLIC,  # redirects to the organization's provider
    ("GET", "/api/v1/sso/callback"): PUBLIC,  # the provider's signed answer is the credential
    ("GET", "/api/v1/audit"): A,
    ("GET", "/api/v1/audit/export"): A,
    # sites and their configs
    ("GET", "/api/v1/configs"): V,
    ("POST", "/api/v1/configs"): E,
    ("GET", "/api/v1/configs/export"): V,
    ("POST", "/api/v1/configs/import"): E,
    ("GET", "/api/v1/configs/{config_id}"): V,
    ("PUT", "/api/v1/configs/{config_id}"): E,
    ("PATCH", "/api/v1/configs/{config_id}"): E,
    ("DELETE", "/api/v1/configs/{config_id}"): E,
    ("POST", "/api/v1/configs/{config_id}/clone"): E,
    ("POST", "/api/v1/configs/{config_id}/pause"): E,
    ("POST", "/api/v1/configs/{config_id}/resume"): E,
    ("POST", "/api/v1/configs/{config_id}/scan"): E,
    ("GET", "/api/v1/configs/{config_id}/rules"): V,
    ("GET", "/api/v1/configs/{config_id}/rules/{rule_id}"): V,
    ("POST", "/api/v1/configs/{config_id}/rules"): E,
    ("PUT", "/api/v1/configs/{config_id}/rules/{rule_id}"): E,
    ("DELETE", "/api/v1/configs/{config_id}/rules/{rule_id}"): E,
    ("POST", "/api/v1/configs/{config_id}/rules/{rule_id}/test"): E,  # sends a real notification
    ("POST", "/api/v1/schedules/preview"): V,  # computes next runs, stores nothing
    ("GET", "/api/v1/overview"): V,
    ("GET", "/api/v1/configs/{config_id}/technologies"): V,
    ("GET", "/api/v1/configs/{config_id}/metrics"): V,
    ("GET", "/api/v1/configs/{config_id}/uptime"): V,
    # scans, changes, alerts, deliveries
    ("GET", "/api/v1/scans"): V,
    ("GET", "/api/v1/scans/{scan_id}"): V,
    ("GET", "/api/v1/scans/{scan_id}/body"): V,
    ("GET", "/api/v1/changes"): V,
    ("GET", "/api/v1/changes/{change_id}"): V,
    ("POST", "/api/v1/changes/{change_id}/false-positive"): E,
    ("DELETE", "/api/v1/changes/{change_id}/false-positive"): E,
    ("GET", "/api/v1/alerts"): V,
    ("GET", "/api/v1/alerts/{alert_id}"): V,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): E,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): E,
    ("GET", "/api/v1/alerts/{alert_id}/deliveries"): V,
    ("GET", "/api/v1/deliveries"): V,
    ("POST", "/api/v1/deliveries/{delivery_id}/retry"): E,
    ("POST", "/api/v1/deliveries/retry"): E,
    # search
    ("GET", "/api/v1/search"): V,
    ("GET", "/api/v1/search/facets"): V,
    # silences, custom fingerprints
    ("GET", "/api/v1/silences"): V,
    ("POST", "/api/v1/silences"): E,
    ("DELETE", "/api/v1/silences/{silence_id}"): E,
    ("PUT", "/api/v1/fingerprints/custom"): E,
    ("GET", "/api/v1/fingerprints/custom"): V,
    ("DELETE", "/api/v1/fingerprints/custom"): E,
    # the WebSocket: connecting, then each command a client may send (realtime/hub.py COMMANDS)
    ("WS", "/ws"): V,
    ("WS", "subscribe"): V,
    ("WS", "unsubscribe"): V,
    ("WS", "ping"): V,
}


class NoPermissionRow(LookupError):
    pass


def least_role(method: str, path: str) -> Role | None:
    """The least role of a route; NoPermissionRow when the table has no row for it."""
    key = ("GET" if method == "HEAD" else method, path)
    if key not in ROUTES:
        raise NoPermissionRow(f"{method} {path}")
    return ROUTES[key]


def allows(role: Role, method: str, path: str) -> bool:
    try:
        needed = least_role(method, path)
    except NoPermissionRow:
        return False
    return needed is None or role.allows(needed)
