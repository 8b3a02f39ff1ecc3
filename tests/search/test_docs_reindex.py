"""docs/search.md's `_reindex` commands, run as written against the local OpenSearch node (only the host and
the index prefix differ: the node listens where scripts/services.sh put it, and the test's indices are its own):
a destination named under our template's pattern gets the mapping, and moving the alias serves it."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

from tests.search.conftest import drop, open_backend
from tests.search.portfolio import ORG, load

from techscaniq.search.opensearch_backend import OpenSearchBackend
from techscaniq.search.query import parse, parse_sort

DOC = Path(__file__).resolve().parents[2] / "docs" / "search.md"


def documented_commands() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    [block] = [block for block in blocks if "techscaniq-sites-restored" in block]
    return block


async def test_the_documented_reindex_copies_with_our_mapping_and_the_alias_serves_the_copy(tmp_path: Path) -> None:
    backend = await open_backend("opensearch", tmp_path)
    assert isinstance(backend, OpenSearchBackend)
    client = backend.client
    try:
        await load(backend)
        await backend.refresh()
        [previous] = await backend.live_indices("sites")
        commands = documented_commands().replace("http://localhost:9200", backend.url).replace(
            "techscaniq-", backend.prefix)
        done = await asyncio.to_thread(subprocess.run, ["bash", "-e", "-c", commands], capture_output=True,
                                       text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert '"failures":[]' in done.stdout.replace(" ", "") and '"acknowledged":true' in done.stdout, done.stdout
        restored = f"{backend.prefix}sites-restored"
        assert await backend.live_indices("sites") == [restored]
        assert f"{backend.alias('sites')} {restored}" in " ".join(done.stdout.split())  # the _cat line
        mapping = await client.indices.get_mapping(index=restored)
        assert mapping[restored]["mappings"]["properties"]["techs"]["type"] == "nested"
        await client.indices.refresh(index=restored)
        page = await backend.search(ORG, parse("tech:WordPress version:<6.5"), parse_sort(None, "sites"), 10, 0)
        assert [item["name"] for item in page.items] == ["Shop"]
        assert await client.indices.exists(index=previous)  # kept until deleted by hand or the next reindex
    finally:
        await drop(backend)
