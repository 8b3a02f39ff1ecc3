"""The two replay rules every detector builds on."""

from __future__ import annotations

import pytest

from techscaniq.changes.context import settled_value, stable_state


@pytest.mark.parametrize(("newest_first", "run", "expected"), [
    (["2xx", "2xx", "2xx"], 2, "2xx"),
    (["4xx", "2xx", "2xx"], 2, "2xx"),  # one 404 is not yet a new state
    (["4xx", "4xx", "2xx"], 2, "4xx"),
    (["4xx"], 2, "4xx"),  # the config's first scans: nothing older contradicts them
    (["4xx", "2xx", "4xx", "2xx", "2xx"], 2, "2xx"),
    ([None, None], 1, None),
])
def test_settled_value(newest_first: list[str | None], run: int, expected: str | None) -> None:
    assert settled_value(newest_first, run) == expected


@pytest.mark.parametrize(("newest_first", "expected"), [
    (["a", "a", "a"], "a"),
    (["b", "a", "a", "a"], "b"),  # a new value of a steady fact counts at once
    (["c", "b", "a", "a"], "c"),  # and so does the next new one
    (["a", "b", "a", "a"], "b"),  # coming back to a recent value needs two in a row
    (["a", "a", "b", "a", "a"], "a"),
    (["b", "a", "b", "a", "b", "a"], "b"),  # alternating: the first flip only
])
def test_stable_state(newest_first: list[str], expected: str) -> None:
    assert stable_state(newest_first, stable=2, flap_window=6) == expected
