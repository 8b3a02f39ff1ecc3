"""`changed:` compares an age: `changed:<7d` is "changed less than 7 days ago" (within the last 7 days), as in
"newer_than:7d"; `changed:>7d` is the opposite, "changed more than 7 days ago". A date compares the day itself:
`changed:>2026-11-01` is after that day. A site never changed matches neither age (docs/search.md). Both
backends: test_contract.py, test_both_ages_split_the_changed_sites_and_never_changed_is_neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from techscaniq.search.query import Changed, QuerySyntaxError, parse

T = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def changed(source: str, kind: str = "sites") -> Changed:
    [term] = parse(source, kind, now=T).terms  # type: ignore[arg-type]
    assert isinstance(term, Changed)
    return term


def test_an_age_below_is_within_and_above_is_longer_ago() -> None:
    assert changed("changed:<7d") == Changed(after=T - timedelta(days=7), before=None)
    assert changed("changed:>7d") == Changed(after=None, before=T - timedelta(days=7))
    assert changed("changed:<12h", "changes") == Changed(after=T - timedelta(hours=12), before=None)
    assert changed("changed:>2w", "alerts") == Changed(after=None, before=T - timedelta(weeks=2))
    assert changed("-changed:<30m").negated


def test_a_date_compares_the_day() -> None:
    day = datetime(2026, 11, 1, tzinfo=UTC)
    assert changed("changed:>2026-11-01") == Changed(after=day + timedelta(days=1), before=None)
    assert changed("changed:<2026-11-01") == Changed(after=None, before=day)
    assert changed("changed:2026-11-01") == Changed(after=day, before=day + timedelta(days=1))


@pytest.mark.parametrize(("source", "reason"), [
    ("changed:7d", "compare an age with < or >"),
    ("changed:<7y", "neither an age"),
    ("changed:<", "expected a value"),
])
def test_a_wrong_age_names_the_token(source: str, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as error:
        parse(f"tag:prod {source}", now=T)
    assert reason in error.value.reason and error.value.token == source and error.value.position == 9
