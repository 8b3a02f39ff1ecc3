"""`techscaniq fingerprints update|info` (registered into the main parser by techscaniq.cli)."""

from __future__ import annotations

import argparse
from typing import Any

from techscaniq.settings import Settings
from techscaniq.terminal import Progress


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("fingerprints", help="manage the technology fingerprint database")
    commands = parser.add_subparsers(dest="fingerprints_command", required=True)
    update = commands.add_parser("update", help="install a Wappalyzer-format database into DATA_DIR/fingerprints")
    update.add_argument("--source", help="a directory, a tarball/zip URL or a GitHub repository URL "
                        "(default: https://github.com/enthec/webappanalyzer)")
    update.add_argument("--ref", help="git commit, tag or branch of a GitHub source; recorded as the version")
    update.set_defaults(handler=update_command)
    info = commands.add_parser("info", help="show the fingerprint source, version and counts in use")
    info.set_defaults(handler=info_command)


def update_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from techscaniq.scanning.fingerprints.install import install
    from techscaniq.scanning.fingerprints.registry import installed_database_path

    settings = settings or Settings()
    with Progress("downloading fingerprints (KiB)") as progress:
        manifest = install(args.source, args.ref, installed_database_path(settings), settings.scan_address_policy,
                           downloaded=lambda size: progress.update(size // 1024))
    print(f"installed {manifest['technologies']} technologies and {manifest['categories']} categories "
          f"from {manifest['source']} into {installed_database_path(settings)}")
    print(f"version: {manifest['version']}")
    if manifest["warnings"]:
        print(f"{manifest['warnings']} entries skipped with warnings (see the log)")
    return 0


def info_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from techscaniq.scanning.fingerprints.database import load_database
    from techscaniq.scanning.fingerprints.registry import base_sources

    settings = settings or Settings()
    sources = base_sources(settings)
    database = load_database(sources)
    for source in database.sources:
        print(f"source: {source.label} ({source.path}) version {source.version}")
    print(f"version: {database.version}")
    print(f"technologies: {len(database.technologies)}")
    print(f"categories: {len(database.categories)}")
    print(f"groups: {len(database.groups)}")
    if database.warnings:
        print(f"skipped with warnings: {len(database.warnings)}")
    return 0
