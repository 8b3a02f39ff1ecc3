"""The one version ordering (versions.py): a pre-release sorts before its release in every form pages write,
and the string key the search indexes compare orders exactly as the parsed versions do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techscaniq.versions import compare, in_range, parse_version, sort_key

# Ascending, as a user reads them; each pre-release form pages write is below its release.
ASCENDING = ["6.4.3", "6.5-alpha", "6.5-alpha.3", "6.5b1", "6.5-beta", "6.5-beta.2", "6.5-beta.10", "6.5rc1",
             "6.5rc2", "6.5", "6.5.1-rc.1", "6.5.1", "6.10", "10.0.0-canary.206", "10"]


def test_pre_releases_sort_before_their_release() -> None:
    assert sorted(reversed(ASCENDING), key=lambda v: parse_version(v).key()) == ASCENDING  # type: ignore[union-attr]
    assert sorted(reversed(ASCENDING), key=sort_key) == ASCENDING
    assert compare("6.5-beta", "6.5") == -1 and compare("6.5", "6.5.0") == 0 and compare("6.5rc2", "6.5b1") == 1
    assert sort_key("6.5") == sort_key("6.5.0") == sort_key("v6.5+build.7")


@pytest.mark.parametrize("prerelease", ["6.5-beta", "6.5b1", "6.5rc2", "6.5-alpha.3", "6.5.0-RC.1"])
def test_a_range_below_a_release_holds_its_pre_releases(prerelease: str) -> None:
    assert in_range(prerelease, at_or_above=None, below="6.5")
    assert not in_range(prerelease, at_or_above="6.5", below=None)
    assert in_range(prerelease, at_or_above="6.4.3", below="6.5.1")


_versions = st.builds(
    lambda release, sep, pre: ".".join(map(str, release)) + (sep + ".".join(pre) if pre else ""),
    st.lists(st.integers(0, 10**12), min_size=1, max_size=4), st.sampled_from(["-", "", ".", "_"]),
    st.lists(st.sampled_from(["alpha", "beta", "b", "rc", "rc1", "canary", "0", "2", "10", "wmf23"]), max_size=3))


@settings(max_examples=100, deadline=None)
@given(_versions, _versions)
def test_the_index_key_orders_as_the_versions_do(left: str, right: str) -> None:
    a, b = sort_key(left), sort_key(right)
    assert a is not None and b is not None
    assert ((a > b) - (a < b)) == compare(left, right)
