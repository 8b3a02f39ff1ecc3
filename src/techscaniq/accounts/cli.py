"""`techscaniq users create|reset-password` (registered into the main parser by techscaniq.cli):
for operators who prefer the shell to the setup link."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
from typing import Any

from techscaniq.accounts.first_run import organization_id_of
from techscaniq.accounts.secrets import hash_password, password_problem
from techscaniq.domain.common import utcnow
from techscaniq.settings import Settings
from techscaniq.storage.sql.accounts import DuplicateError

ROLES = ("owner", "admin", "editor", "viewer")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="people who sign in to the dashboard")
    commands = parser.add_subparsers(dest="users_command", required=True)
    create = commands.add_parser("create", help="create a user (or add an existing one) in an organization")
    create.add_argument("email")
    create.add_argument("--organization", "--org", required=True, help="organization id (created if new)")
    create.add_argument("--organization-name", help="its display name, when it is created (default: the id)")
    create.add_argument("--role", choices=ROLES, default="viewer")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (default: generate and print one)")
    create.set_defaults(handler=create_command)
    reset = commands.add_parser("reset-password", help="set a user's password (and unlock the account)")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input (default: generate and print one)")
    reset.set_defaults(handler=reset_command)


def create_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_create(args, settings or Settings()))


def reset_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_reset(args, settings or Settings()))


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated)."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(f"password: {problem}")
        return password, False
    return secrets.token_urlsafe(15), True


async def _create(args: argparse.Namespace, settings: Settings) -> int:
    from techscaniq.storage.factory import opened_storage

    if organization_id_of(args.organization) != args.organization:
        raise ValueError(f"--organization: use lower-case letters, digits and dashes (e.g. "
                         f"{organization_id_of(args.organization)!r})")
    async with opened_storage(settings) as storage:
        now = utcnow()
        user = await storage.accounts.user_by_email(args.email)
        generated: str | None = None
        if user is None:
            password, was_generated = _password(args)
            user = await storage.accounts.add_user(args.email, await hash_password(password), now)
            generated = password if was_generated else None
        with contextlib.suppress(DuplicateError):  # an existing organization: the user joins it
            await storage.accounts.add_organization(args.organization, args.organization_name or args.organization,
                                                    now)
        await storage.accounts.set_membership(user.id, args.organization, args.role, now)
        await storage.one_time_tokens.discard("setup")  # a user exists: the first-run link is no longer needed
    print(f"{user.email} is {args.role} of {args.organization}")
    if generated is not None:
        print(f"password (shown once): {generated}")
    return 0


async def _reset(args: argparse.Namespace, settings: Settings) -> int:
    from techscaniq.storage.factory import opened_storage

    async with opened_storage(settings) as storage:
        user = await storage.accounts.user_by_email(args.email)
        if user is None:
            raise ValueError(f"email: no user {args.email!r}")
        password, generated = _password(args)
        await storage.accounts.set_password(user.id, await hash_password(password))
        ended = await storage.sessions.delete_of_user(user.id)  # whoever knew the old password is signed out
        for session in ended:  # and their open WebSockets close at each replica's next revocation reload
            await storage.revoked_tokens.add(session.id_hash, session.organization_id, utcnow(), session.expires_at,
                                             "password reset")
    print(f"password of {user.email} set; {len(ended)} sessions ended")
    if generated:
        print(f"password (shown once): {password}")
    return 0



