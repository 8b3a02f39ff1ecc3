"""GET /api/v1/configs pages with a cursor: a full page answers X-Next-Cursor, following it lists the
organization's configs once each; offset pages still work; a bad cursor is a 422 naming it."""

from __future__ import annotations

from tests.api.conftest import Client, config_body

from techscaniq.system import MonitoringSystem


async def test_cursor_pages_list_each_config_once(system: MonitoringSystem, client: Client) -> None:
    for index in range(5):
        await system.add_monitoring_config({**config_body(f"site {index}"), "organization_id": "org-a"})
    await system.add_monitoring_config({**config_body("other tenant"), "organization_id": "org-b"})
    api = client("org-a")
    names: list[str] = []
    cursors: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = await api.get("/api/v1/configs", params=params)
        assert page.status_code == 200, page.text
        names += [c["name"] for c in page.json()]
        if "x-next-cursor" not in page.headers:
            break
        cursors.append(page.headers["x-next-cursor"])
        params = {"limit": 2, "cursor": cursors[-1]}
    assert names == [f"site {index}" for index in range(5)]
    by_offset = await api.get("/api/v1/configs", params={"limit": 2, "offset": 2})
    assert [c["name"] for c in by_offset.json()] == ["site 2", "site 3"]

    assert len(cursors) == 2  # pages of 2, 2 and 1
    for bad, field in (({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": cursors[0], "offset": 1}, "offset")):
        refused = await api.get("/api/v1/configs", params=bad)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["field"] == field
