"""`techscaniq advisories update [--source URL|FILE]`: install the Retire.js advisory repository."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from techscaniq.scanning.security.advisories import RETIREJS_URL, AdvisoryFormatError, load_database, update_advisories


def register(subparsers: Any) -> None:
    """Add the `advisories` command group to the top-level CLI's subparsers."""
    advisories = subparsers.add_parser("advisories", help="known-vulnerable library advisories")
    commands = advisories.add_subparsers(dest="advisories_command", required=True)
    update = commands.add_parser("update", help="install the Retire.js advisory repository")
    update.add_argument("--source", default=None,
                        help=f"URL or local file of a Retire.js jsrepository.json (default: {RETIREJS_URL})")
    update.set_defaults(handler=run_update)
    status = commands.add_parser("status", help="show which advisory sources are loaded")
    status.set_defaults(handler=run_status)


def _settings(args: argparse.Namespace) -> Any:
    settings = getattr(args, "settings", None)
    if settings is None:
        from techscaniq.settings import Settings

        settings = Settings()
    return settings


def run_update(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        result = update_advisories(settings, args.source)
    except (AdvisoryFormatError, FileNotFoundError, OSError) as exc:
        print(f"advisories update failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # network failures from httpx carry their own message
        print(f"advisories update failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"installed {result.advisories} advisories for {result.libraries} libraries from {result.source} "
          f"into {result.path} (sha256 {result.sha256[:16]}...)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    database = load_database(_settings(args).data_dir)
    print(f"retirejs: {database.sources['retirejs']} advisories ({database.sources['retirejs_origin']})")
    print(f"builtin: {database.sources['builtin']} advisories")
    extractors = database.extractors
    if extractors is not None:
        print(f"retirejs extractors: {len(extractors.components)} libraries, {len(extractors.hashes)} hashes"
              + (f", {len(extractors.skipped)} patterns skipped" if extractors.skipped else ""))
    return 0
