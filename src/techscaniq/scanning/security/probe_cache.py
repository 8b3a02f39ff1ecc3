"""The security step's extra requests (the plain-HTTP redirection probe, the CORS probe), shared for a while.

They answer questions about an origin's configuration, which changes far less often than its pages are checked:
configs on the same origin (or the same config checked every minute) reuse an answer for `ttl` seconds instead
of repeating the request every scan. Only answers that arrived are kept: a probe that failed is tried again on
the next scan. Concurrent scans of one key share one request in flight."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from techscaniq.domain.fetch import FetchResult

MAX_ENTRIES = 10_000  # bounds memory: about the probes of 10,000 origins' pages


class ProbeCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._answers: OrderedDict[tuple[str, str], tuple[float, FetchResult]] = OrderedDict()
        self._in_flight: dict[tuple[str, str], asyncio.Future[FetchResult]] = {}

    async def get(self, kind: str, url: str, probe: Callable[[], Awaitable[FetchResult]]) -> FetchResult:
        """The answer of `probe` for (kind, url): stored if fresh, else fetched now (and stored if it arrived)."""
        if self.ttl <= 0:
            return await probe()
        key = (kind, url)
        stored = self._answers.get(key)
        if stored is not None and self._clock() - stored[0] < self.ttl:
            return stored[1]
        if (pending := self._in_flight.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this scan was cancelled, not the one probing
                return await probe()  # the scan probing was cancelled: this one asks itself
        future: asyncio.Future[FetchResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await probe()
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._in_flight[key]
        future.set_result(answer)
        if answer.error is None:
            self._answers[key] = (self._clock(), answer)
            self._answers.move_to_end(key)
            while len(self._answers) > MAX_ENTRIES:
                self._answers.popitem(last=False)
        return answer
