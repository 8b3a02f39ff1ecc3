"""`techscaniq changes list|false-positive` (registered into the main parser by techscaniq.cli)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from techscaniq.changes.feedback import mark_false_positive
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("changes", help="list detected changes or mark one as a false positive")
    commands = parser.add_subparsers(dest="changes_command", required=True)
    listing = commands.add_parser("list", help="recent changes, newest first")
    listing.add_argument("--organization")
    listing.add_argument("--config", help="a monitoring config id")
    listing.add_argument("--type", choices=[kind.value for kind in ChangeKind])
    listing.add_argument("--min-impact", choices=[impact.value for impact in Impact])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="print the changes as JSON lines")
    listing.set_defaults(handler=list_command)
    mark = commands.add_parser("false-positive", help="mark a change as a false positive (or --undo)")
    mark.add_argument("change_id")
    mark.add_argument("--organization", help="only a change of this organization")
    mark.add_argument("--undo", action="store_true", help="clear the mark")
    mark.set_defaults(handler=false_positive_command)


def list_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_list(args, settings or Settings()))


def false_positive_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_mark(args, settings or Settings()))


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    from techscaniq.storage.factory import create_storage

    storage = create_storage(settings)
    await storage.start()
    try:
        changes = await storage.changes.find(
            organization_id=args.organization, config_id=args.config,
            kind=ChangeKind(args.type) if args.type else None,
            min_impact=Impact(args.min_impact) if args.min_impact else None, limit=args.limit,
        )
    finally:
        await storage.close()
    for change in changes:
        if args.json:
            print(change.model_dump_json())
            continue
        flags = "".join([" [data]" if change.data_change else "", " [false positive]" if change.false_positive else ""])
        print(f"{change.detected_at:%Y-%m-%d %H:%M} {change.id} {change.impact.value:8} {change.type.value}/"
              f"{change.change_type} {change.subject}: {_short(change.before)} -> {_short(change.after)}{flags}")
    return 0


async def _mark(args: argparse.Namespace, settings: Settings) -> int:
    from techscaniq.storage.factory import create_storage

    storage = create_storage(settings)
    await storage.start()
    try:
        done = await mark_false_positive(storage.changes, args.change_id, args.organization, value=not args.undo)
    finally:
        await storage.close()
    if not done:
        print(f"error: no change {args.change_id!r}" + (f" in organization {args.organization!r}"
                                                        if args.organization else ""))
        return 1
    print(f"change {args.change_id} {'unmarked' if args.undo else 'marked as a false positive'}")
    return 0


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
