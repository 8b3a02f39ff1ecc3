"""The deployment guide's "Rebuild search indexes" command, run as written against the local OpenSearch node
(only the host differs: the node listens where scripts/services.sh put it), on an index of ours."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
from pathlib import Path

from tests.search.conftest import drop, open_backend
from tests.search.portfolio import ORG, load

from techscaniq.search.opensearch_backend import MAPPINGS, SETTINGS, OpenSearchBackend
from techscaniq.search.query import parse, parse_sort

GUIDE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "deployment-guide.md"
# The guide's block (docs/operations.md quotes it): copied here so the test runs without /work/shared.
COMMAND = """curl -X POST http://localhost:9200/_reindex -H 'Content-Type: application/json' -d '{
  "source": { "index": "old_index" },
  "dest": { "index": "new_index" }
}'"""


def test_the_command_is_the_guides() -> None:
    if GUIDE.exists():
        assert COMMAND in GUIDE.read_text()


async def test_the_guides_reindex_copies_an_index_and_search_reads_the_copy(tmp_path: Path) -> None:
    backend = await open_backend("opensearch", tmp_path)
    assert isinstance(backend, OpenSearchBackend)
    client = backend.client
    try:
        await load(backend)
        await backend.refresh()
        # The guide names its indices old_index and new_index: ours is copied to old_index first.
        for name in ("old_index", "new_index"):
            await client.indices.delete(index=name, params={"ignore_unavailable": "true"})
        sites = backend.alias("sites")
        # A destination made by _reindex itself would get dynamic mappings (techs not nested): create it first.
        for name in ("old_index", "new_index"):
            await client.indices.create(index=name, body={"settings": SETTINGS, "mappings": MAPPINGS})
        await client.reindex(body={"source": {"index": sites}, "dest": {"index": "old_index"}},
                             params={"refresh": "true"})
        command = COMMAND.replace("http://localhost:9200", backend.url)
        done = await asyncio.to_thread(subprocess.run, ["bash", "-c", command], capture_output=True, text=True,
                                       timeout=60)
        assert done.returncode == 0, done.stderr
        assert re.search(r'"failures"\s*:\s*\[\]', done.stdout) and '"created":4' in done.stdout.replace(" ", ""), (
            done.stdout)
        await client.indices.refresh(index="new_index")
        assert (await client.count(index="new_index"))["count"] == 4
        # Pointing the alias at the copy (what an operator does after the guide's command) serves it.
        await client.indices.update_aliases(body={"actions": [
            {"remove": {"index": "*", "alias": sites}}, {"add": {"index": "new_index", "alias": sites}}]})
        page = await backend.search(ORG, parse("tech:WordPress version:<6.5"), parse_sort(None, "sites"), 10, 0)
        assert [item["name"] for item in page.items] == ["Shop"]
        assert shlex.split(command)[0] == "curl"
    finally:
        await client.indices.delete(index="old_index,new_index", params={"ignore_unavailable": "true"})
        await drop(backend)
