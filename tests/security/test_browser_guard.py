"""Browser mode cannot reach the server's network. A page on 127.0.0.2 (allowed by the policy: it plays
a public attacker's site) tries every way Chromium has to reach 127.0.0.1 (the internal network):
redirects, iframes, fetch, images, WebSockets, `localhost` names, service workers and WebRTC. None of
them may even open a connection, and nothing internal may reach the scan's evidence."""

from __future__ import annotations

import ipaddress
import os

import pytest
from tests.support.internal import INTERNAL_SECRET, internal_service, udp_listener
from tests.support.testsite import LocalSite

from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.scanning.browser import BrowserRenderer, BrowserUnavailableError, browser_status

CHROMIUM = "/usr/bin/chromium"
ATTACKER = "127.0.0.2"
PUBLIC_ATTACKER = AddressPolicy(allowed_networks=(ipaddress.ip_network(f"{ATTACKER}/32"),))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (scripts/install_browser.sh)"),
]

# INTERNAL and STUN are replaced by the internal service's TCP and UDP ports.
EVERY_WAY_IN = """<html><body><h1>attacker</h1>
<iframe src="http://127.0.0.1:INTERNAL/frame"></iframe>
<img src="http://127.0.0.1:INTERNAL/img.png">
<script src="http://localhost:INTERNAL/script.js"></script>
<script>
  const leak = (label, text) => { document.body.dataset[label] = text; };
  fetch("http://127.0.0.1:INTERNAL/fetch").then(r => r.text()).then(t => leak("fetch", t), () => {});
  fetch("http://internal.localhost:INTERNAL/named").then(r => r.text()).then(t => leak("named", t), () => {});
  fetch("https://127.0.0.1:INTERNAL/tls").catch(() => {});
  fetch("http://[::ffff:127.0.0.1]:INTERNAL/mapped").catch(() => {});
  fetch("http://no-such-host.invalid/").catch(() => {});
  try { new WebSocket("ws://127.0.0.1:INTERNAL/socket"); } catch (e) {}
  if (navigator.serviceWorker) navigator.serviceWorker.register("/sw.js").catch(() => {});
  try {
    const peer = new RTCPeerConnection({iceServers: [{urls: "stun:127.0.0.1:STUN"}]});
    peer.createDataChannel("x");
    peer.createOffer().then(offer => peer.setLocalDescription(offer));
  } catch (e) {}
</script></body></html>"""
SERVICE_WORKER = "self.addEventListener('install', () => fetch('http://127.0.0.1:INTERNAL/from-worker'));"


def fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(name, value)
    return template


async def render_attack(policy: AddressPolicy) -> tuple[int, int, dict[str, object], LocalSite]:
    """Render the attacker's page under `policy`: (internal TCP connections, STUN datagrams, details, site)."""
    async with internal_service() as internal, udp_listener() as (stun, udp_port), LocalSite(host=ATTACKER) as site:
        ports = {"INTERNAL": str(internal.port), "STUN": str(udp_port)}
        site.route("/", body=fill(EVERY_WAY_IN, ports))
        site.route("/sw.js", body=fill(SERVICE_WORKER, ports), content_type="text/javascript")
        measured = await BrowserRenderer(policy=policy).render(site.url("/"), dom_queries={"body": ["innerText"]})
        assert INTERNAL_SECRET.decode() not in str(measured.dom) or policy.allow_private
        return internal.connections, stun.datagrams, measured.details, site


async def test_no_way_from_a_page_into_the_internal_network() -> None:
    connections, datagrams, details, site = await render_attack(PUBLIC_ATTACKER)
    assert connections == 0
    assert datagrams == 0
    assert details["status_code"] == 200  # the attacker's own page did render
    blocked = "\n".join(details["blocked_requests"])  # type: ignore[arg-type]
    for refused in ("/frame", "/img.png", "/fetch", "/script.js: localhost", "internal.localhost", "no-such-host"):
        assert refused.split(": ")[0] in blocked, refused
    assert "loopback address" in blocked and "could not resolve" in blocked
    assert not [r for r in site.requests if r.path == "/sw.js"]  # service workers never start


async def test_the_same_page_does_reach_a_network_the_operator_allowed() -> None:
    # The control: without the guard the page above opens internal connections, so the test can fail.
    connections, _, _, _ = await render_attack(AddressPolicy(allow_private=True))
    assert connections >= 3


async def test_a_redirect_into_the_internal_network_fails_the_measurement() -> None:
    async with internal_service() as internal, LocalSite(host=ATTACKER) as site:
        site.redirect("/", f"http://127.0.0.1:{internal.port}/admin")
        with pytest.raises(BrowserUnavailableError, match=r"refused: .*127\.0\.0\.1.*loopback address"):
            await BrowserRenderer(policy=PUBLIC_ATTACKER).render(site.url("/"))
    assert internal.connections == 0


async def test_an_internal_page_is_refused_outright() -> None:
    async with internal_service() as internal:
        with pytest.raises(BrowserUnavailableError, match="loopback address"):
            await BrowserRenderer(policy=PUBLIC_ATTACKER).render(f"http://localhost:{internal.port}/")
    assert internal.connections == 0


def test_health_says_whether_chromium_keeps_its_sandbox() -> None:
    status = browser_status(CHROMIUM)
    assert ("without its sandbox (running as root" in status) == (os.geteuid() == 0)
    assert "not found" in browser_status("/nonexistent/chromium")
