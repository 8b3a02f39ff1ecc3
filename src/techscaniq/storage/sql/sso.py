"""Each organization's OpenID Connect settings; the client secret is encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from techscaniq.accounts.models import SsoConfig
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import sso_configs as t


class SqlSsoRepository(SqlRepository):
    async def put(self, config: SsoConfig, now: datetime) -> None:
        assert self._secrets is not None
        values = {"issuer": config.issuer, "client_id": config.client_id,
                  "client_secret": self._secrets.encrypt(config.client_secret), "role_claim": config.role_claim,
                  "role_map": config.role_map, "default_role": config.default_role, "updated_at": now}
        async with self._engine.begin() as conn:
            query = update(t).where(t.c.organization_id == config.organization_id).values(**values)
            changed = await conn.execute(query)
            if not changed.rowcount:
                await conn.execute(insert(t).values(organization_id=config.organization_id, **values))

    async def get(self, organization_id: str) -> SsoConfig | None:
        assert self._secrets is not None
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.organization_id == organization_id))).first()
        if row is None:
            return None
        return SsoConfig(row.organization_id, row.issuer, row.client_id, self._secrets.decrypt(row.client_secret),
                         row.role_claim, dict(row.role_map), row.default_role)

    async def delete(self, organization_id: str) -> bool:
        async with self._engine.begin() as conn:
            return bool((await conn.execute(delete(t).where(t.c.organization_id == organization_id))).rowcount)
