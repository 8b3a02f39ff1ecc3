"""Where the alert engine looks up silences and maintenance windows (see domain/silence.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from techscaniq.domain.silence import Silence

__all__ = ["InMemorySilenceStore", "Silence", "SilenceStore"]


class SilenceStore(Protocol):
    async def add(self, silence: Silence) -> None: ...

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool: ...

    async def list(self, organization_id: str | None = None) -> list[Silence]: ...

    async def active(self, organization_id: str, config_id: str, at: datetime) -> Silence | None:
        """The first silence or maintenance window covering this config at this moment."""
        ...


class InMemorySilenceStore:
    """Process-local silences, for tests. The system keeps them in the database (storage/sql/silences.py)."""

    def __init__(self, silences: list[Silence] | None = None) -> None:
        self._silences: dict[str, Silence] = {s.id: s for s in silences or []}

    async def add(self, silence: Silence) -> None:
        self._silences[silence.id] = silence

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool:
        silence = self._silences.get(silence_id)
        if silence is None or (organization_id is not None and silence.organization_id != organization_id):
            return False
        del self._silences[silence_id]
        return True

    async def list(self, organization_id: str | None = None) -> list[Silence]:
        return [s for s in self._silences.values() if organization_id in (None, s.organization_id)]

    async def active(self, organization_id: str, config_id: str, at: datetime) -> Silence | None:
        for silence in self._silences.values():
            if silence.applies_to(organization_id, config_id) and silence.active_at(at):
                return silence
        return None
