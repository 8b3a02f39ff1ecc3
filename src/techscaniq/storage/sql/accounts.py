"""Users, organizations and memberships (who may do what where)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from techscaniq.accounts.models import Membership, User
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import memberships, organizations, users


class DuplicateError(ValueError):
    """An email address or organization id already taken."""


class SqlAccountRepository(SqlRepository):
    async def count_users(self) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())

    async def add_user(self, email: str, password_hash: str | None, now: datetime, name: str = "") -> User:
        user_id = uuid.uuid4().hex
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(users).values(id=user_id, email=email.lower(), name=name[:300],
                                                        password_hash=password_hash, created_at=now,
                                                        failed_sign_ins=0))
        except IntegrityError:
            raise DuplicateError(f"a user with the email {email.lower()!r} exists already") from None
        return User(user_id, email.lower(), name, password_hash, now)

    async def user_by_email(self, email: str) -> User | None:
        return await self._one_user(users.c.email == email.lower())

    async def user(self, user_id: str) -> User | None:
        return await self._one_user(users.c.id == user_id)

    async def set_password(self, user_id: str, password_hash: str) -> bool:
        return await self._update_user(user_id, password_hash=password_hash, failed_sign_ins=0, locked_until=None)

    async def set_totp(self, user_id: str, encrypted_secret: str | None, recovery_hashes: list[str] | None) -> bool:
        return await self._update_user(user_id, totp_secret=encrypted_secret, recovery_codes=recovery_hashes)

    async def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Strike one recovery code off (each works once); False when it is not one of the user's."""
        user = await self.user(user_id)
        if user is None or user.recovery_codes is None or code_hash not in user.recovery_codes:
            return False
        return await self._update_user(user_id, recovery_codes=[c for c in user.recovery_codes if c != code_hash])

    async def record_failed_sign_in(self, user_id: str, lock_after: int, locked_until: datetime) -> int:
        """Count a wrong password; the `lock_after`-th in a row locks the account until `locked_until`.
        Returns the count. One UPDATE: replicas counting at once never lose a failure."""
        async with self._engine.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id)
                               .values(failed_sign_ins=users.c.failed_sign_ins + 1))
            failures = int((await conn.execute(select(users.c.failed_sign_ins)
                                               .where(users.c.id == user_id))).scalar_one())
            if failures >= lock_after:
                await conn.execute(update(users).where(users.c.id == user_id)
                                   .values(locked_until=locked_until, failed_sign_ins=0))
        return failures

    async def clear_failed_sign_ins(self, user_id: str) -> None:
        await self._update_user(user_id, failed_sign_ins=0, locked_until=None)

    async def add_organization(self, organization_id: str, name: str, now: datetime) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(organizations).values(id=organization_id, name=name[:300], created_at=now))
        except IntegrityError:
            raise DuplicateError(f"the organization {organization_id!r} exists already") from None

    async def organization_name(self, organization_id: str) -> str | None:
        async with self._engine.connect() as conn:
            found = (await conn.execute(select(organizations.c.name)
                                        .where(organizations.c.id == organization_id))).scalar_one_or_none()
        return str(found) if found is not None else None

    async def set_membership(self, user_id: str, organization_id: str, role: str, now: datetime) -> None:
        """Adds the user to the organization, or changes their role there."""
        async with self._engine.begin() as conn:
            changed = await conn.execute(update(memberships).where(memberships.c.user_id == user_id,
                                                                   memberships.c.organization_id == organization_id)
                                         .values(role=role))
            if not changed.rowcount:
                await conn.execute(insert(memberships).values(user_id=user_id, organization_id=organization_id,
                                                              role=role, created_at=now))

    async def remove_membership(self, user_id: str, organization_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(memberships).where(memberships.c.user_id == user_id,
                                                                  memberships.c.organization_id == organization_id))
        return bool(result.rowcount)

    async def membership(self, user_id: str, organization_id: str) -> Membership | None:
        found = [m for m in await self.memberships_of(user_id) if m.organization_id == organization_id]
        return found[0] if found else None

    async def memberships_of(self, user_id: str) -> list[Membership]:
        """Every organization the user belongs to, by organization name."""
        query = (select(memberships.c.user_id, memberships.c.organization_id, memberships.c.role,
                        func.coalesce(organizations.c.name, memberships.c.organization_id).label("name"))
                 .select_from(memberships.outerjoin(organizations, organizations.c.id == memberships.c.organization_id))
                 .where(memberships.c.user_id == user_id).order_by("name"))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Membership(row.user_id, row.organization_id, row.name, row.role) for row in rows]

    async def members(self, organization_id: str) -> list[tuple[User, str]]:
        """(user, role) of everyone in the organization, by email."""
        query = (select(users, memberships.c.role).join(memberships, memberships.c.user_id == users.c.id)
                 .where(memberships.c.organization_id == organization_id).order_by(users.c.email))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(_user(row._mapping), row.role) for row in rows]

    async def count_role(self, organization_id: str, role: str) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(memberships).where(
                memberships.c.organization_id == organization_id, memberships.c.role == role))).scalar_one())

    async def _one_user(self, condition: Any) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(condition))).first()
        return _user(row._mapping) if row is not None else None

    async def _update_user(self, user_id: str, **values: Any) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(update(users).where(users.c.id == user_id).values(**values))
        return bool(result.rowcount)


def _user(row: Any) -> User:
    return User(row["id"], row["email"], row["name"], row["password_hash"], row["created_at"],
                row["failed_sign_ins"], row["locked_until"], row["totp_secret"],
                list(row["recovery_codes"]) if row["recovery_codes"] is not None else None)
