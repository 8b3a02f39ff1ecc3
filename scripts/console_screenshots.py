"""Screenshots of the console for docs/images (README and docs/console.md show them).

Runs an embedded system in a temporary directory, three small demo sites on loopback (a shop that updates
WordPress and drops a header, a blog that goes down, a documentation site), scans them a few times, then opens
the console in Debian's Chromium through Playwright and saves the sites list, a site's page, the inbox and the
access page. Run again after changing the console:

    .venv/bin/python scripts/console_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from playwright.async_api import async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CHROMIUM = "/usr/bin/chromium"
ORGANIZATION, API_KEY = "acme", "screenshots-key-0123456789abcdef"
SITES: dict[str, dict[str, Any]] = {
    "shop": {"status": 200, "generator": "WordPress 6.4.2", "jquery": "3.6.0",
             "headers": {"Strict-Transport-Security": "max-age=31536000", "X-Frame-Options": "DENY",
                         "X-Content-Type-Options": "nosniff", "Server": "nginx/1.24.0"}},
    "blog": {"status": 200, "generator": "Hugo 0.120.4", "jquery": None, "headers": {"Server": "Caddy"}},
    "docs": {"status": 200, "generator": "Docusaurus v3.1.0", "jquery": None,
             "headers": {"Server": "cloudflare", "Content-Security-Policy": "default-src 'self'"}},
}


async def page(request: Request) -> Response:
    site = SITES.get(request.path_params["site"])
    if site is None:  # robots.txt and the like
        return Response(status_code=404)
    scripts = f'<script src="/js/jquery-{site["jquery"]}.min.js"></script>' if site["jquery"] else ""
    body = (f'<!doctype html><html><head><title>{request.path_params["site"]}</title>'
            f'<meta name="generator" content="{site["generator"]}">{scripts}</head><body><h1>Welcome</h1></body></html>')
    return HTMLResponse(body, status_code=site["status"], headers=site["headers"])


async def hook(_: Request) -> Response:
    return Response(status_code=204)


def demo_app() -> Starlette:
    return Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/{site}/", page)])


async def serve_demo() -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(demo_app(), log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
        await asyncio.sleep(0.01)
    return server, task, sock.getsockname()[1]


async def scan_all(system: MonitoringSystem, ids: dict[str, str]) -> None:
    for config_id in ids.values():
        await system.scan_now(config_id, wait=True)


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    server, task, port = await serve_demo()
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), http_port=0, websocket_port=0, host="127.0.0.1",
                            api_keys=f"{ORGANIZATION}:{API_KEY}", allow_private_targets=True,
                            notification_allowed_networks="127.0.0.0/8")
        async with MonitoringSystem(settings, configure_logs=False) as system:
            ids = {}
            for name, title in (("shop", "Acme shop"), ("blog", "Acme blog"), ("docs", "Developer docs")):
                ids[name] = await system.add_monitoring_config({
                    "organization_id": ORGANIZATION, "name": title, "url": f"http://127.0.0.1:{port}/{name}/",
                    "tags": ["acme", "production" if name != "docs" else "docs"],
                    "schedule": {"type": "interval", "expression": "1h"},
                    "alert_rules": [{"name": "Every change to the team hook", "notification_channels": [
                        {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}]}]})
            await scan_all(system, ids)
            await scan_all(system, ids)
            SITES["shop"]["generator"], SITES["shop"]["jquery"] = "WordPress 6.5", "3.7.1"
            del SITES["shop"]["headers"]["X-Frame-Options"]
            SITES["blog"]["status"] = 503
            for _ in range(3):
                await scan_all(system, ids)
            await asyncio.sleep(2)  # the change and alert stages finish
            await shoot(system, ids, out)
    server.should_exit = True
    await task


async def shoot(system: MonitoringSystem, ids: dict[str, str], out: Path) -> None:
    base = f"http://127.0.0.1:{system.ports['api']}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(viewport={"width": 1280, "height": 860}, color_scheme="light")
        await page.goto(f"{base}/")
        await page.get_by_label("API key or token").fill(API_KEY)
        await page.get_by_role("button", name="Sign in").click()
        await page.locator("#session").wait_for()
        for name, route in (("sites", "#/"), ("site", f"#/site/{ids['shop']}"), ("inbox", "#/inbox"),
                            ("access", "#/access")):
            await page.evaluate("(route) => { location.hash = route; }", route)
            await page.wait_for_load_state("networkidle")
            await page.wait_for_timeout(500)  # charts and live updates settle
            await page.screenshot(path=str(out / f"console-{name}.png"))
            print(f"wrote {out / f'console-{name}.png'}")
        # The rule builder, on the shop's page: its rule opened for editing (conditions, channels, Test).
        await page.evaluate("(route) => { location.hash = route; }", f"#/site/{ids['shop']}")
        await page.wait_for_load_state("networkidle")
        rules = page.locator("article[aria-labelledby=rules-title]")
        await rules.get_by_role("button", name="Edit").first.click()
        await page.set_viewport_size({"width": 1280, "height": 1060})
        # Below the sticky top bar, which an element screenshot would leave over the panel's title.
        await page.evaluate("document.getElementById('rules-title').scrollIntoView(); window.scrollBy(0, -80)")
        await page.wait_for_timeout(300)
        await page.screenshot(path=str(out / "console-rules.png"))
        print(f"wrote {out / 'console-rules.png'}")
        await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images")
    asyncio.run(main(parser.parse_args().out))
