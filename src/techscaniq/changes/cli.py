"""`techscaniq changes list|false-positive|rebuild-baselines` (registered into the main parser by techscaniq.cli)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import Any

from techscaniq.changes.feedback import mark_false_positive
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.settings import Settings
from techscaniq.terminal import Progress, table
from techscaniq.wording import describe_change, with_change_summary


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
    rebuild = commands.add_parser("rebuild-baselines",
                                  help="rebuild change detection's baselines from the stored scans (CHANGE_POLICY)")
    rebuild.add_argument("--config", help="only this monitoring config id")
    rebuild.add_argument("--organization", help="only the configs of this organization")
    rebuild.set_defaults(handler=rebuild_baselines_command)


def list_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_list(args, settings or Settings()))


def false_positive_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_mark(args, settings or Settings()))


def rebuild_baselines_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    return asyncio.run(_rebuild_baselines(args, settings or Settings()))


async def _rebuild_baselines(args: argparse.Namespace, settings: Settings) -> int:
    from techscaniq.changes.detector import ChangeDetector
    from techscaniq.changes.policy import DetectionPolicy
    from techscaniq.storage.factory import opened_storage

    rebuilt = 0
    async with opened_storage(settings) as storage:
        detector = ChangeDetector(storage, DetectionPolicy.model_validate(settings.change_policy))
        if args.config:
            config = await storage.configs.get(args.config, args.organization)
            if config is None:
                print(f"error: no config {args.config!r}")
                return 1
            rebuilt += await detector.rebuild_baseline(config.id, config.organization_id)
        else:
            after: tuple[datetime, str] | None = None
            with Progress("rebuilding baselines", await storage.configs.count(args.organization)) as progress:
                while page := await storage.configs.find(args.organization, limit=500, after=after):
                    for config in page:
                        rebuilt += await detector.rebuild_baseline(config.id, config.organization_id)
                        progress.advance(note=config.name)
                    after = (page[-1].created_at, page[-1].id)
    print(f"rebuilt {rebuilt} baseline{'s' if rebuilt != 1 else ''}")
    return 0


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
    if args.json:
        for change in changes:
            print(json.dumps(with_change_summary(change.model_dump(mode="json"))))
        return 0
    if not changes:
        print("no changes")
        return 0
    rows = []
    for change in changes:
        flags = "".join([" [fingerprint update]" if change.data_change else "",
                         " [false positive]" if change.false_positive else ""])
        rows.append([f"{change.detected_at:%Y-%m-%d %H:%M}", change.id, change.impact.value, change.type.value,
                     describe_change(change.model_dump(mode="json")) + flags])
    print(table(["DETECTED (UTC)", "ID", "IMPACT", "TYPE", "CHANGE"], rows))
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

