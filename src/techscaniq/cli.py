"""The `techscaniq` command (also `python -m techscaniq`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from techscaniq import __version__
from techscaniq.domain.errors import QuotaExceededError
from techscaniq.settings import Settings
from techscaniq.terminal import Progress, table
from techscaniq.wording.validation import describe_errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="techscaniq", description="Continuous monitoring of websites.")
    parser.add_argument("--version", action="version", version=f"techscaniq {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("run", help="start the whole system in the foreground").set_defaults(handler=_run)

    migrate = commands.add_parser("migrate", help="apply database migrations (core and metrics)")
    migrate.set_defaults(handler=_migrate)

    schema = commands.add_parser("schema", help="print the PostgreSQL core schema (001_monitoring_core_schema.sql)")
    schema.set_defaults(handler=_schema)

    scan = commands.add_parser("scan", help="scan one URL once and print the result")
    scan.add_argument("url")
    scan.add_argument("--json", action="store_true", help="print the full result as JSON")
    scan.add_argument("--fingerprints", type=Path, help="a Wappalyzer-format directory merged over our own set")
    scan.add_argument("--no-technologies", action="store_true")
    scan.add_argument("--no-performance", action="store_true")
    scan.add_argument("--no-security", action="store_true")
    scan.add_argument("--full-page", action="store_true", help="also fetch sub-resources for page weight")
    scan.add_argument("--browser", action="store_true", help="render in headless Chromium (js/dom, web vitals)")
    scan.add_argument("--allow-private", action="store_true", help="allow private and loopback addresses")
    scan.set_defaults(handler=_scan)

    config = commands.add_parser("config", help="add or list monitoring configs")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    add = config_commands.add_parser("add", help="add configs from a YAML or JSON file (one or a list)")
    add.add_argument("file", type=Path)
    add.add_argument("--organization", "--org",
                     help="the organization the configs belong to (when the file does not say)")
    add.set_defaults(handler=_config_add)
    listing = config_commands.add_parser("list", help="list configs")
    listing.add_argument("--organization")
    listing.set_defaults(handler=_config_list)

    token = commands.add_parser("token", help="print a JWT for the API and WebSocket (or revoke one)")
    token.add_argument("--organization", "--org", help="required to mint a token")
    token.add_argument("--role", choices=["viewer", "editor", "admin", "owner"], default="admin",
                       help="what the token may do (docs/access.md); default admin")
    token.add_argument("--subject", default="cli")
    token.add_argument("--expires-minutes", type=int, default=None)
    token.set_defaults(handler=_token)
    token_commands = token.add_subparsers(dest="token_command", metavar="revoke")
    revoke = token_commands.add_parser("revoke", help="revoke a JWT (every replica refuses it within 30 s)")
    revoke.add_argument("token_or_jti", metavar="TOKEN_OR_JTI", help="the JWT, or only its jti claim")
    revoke.add_argument("--organization", "--org", dest="revoke_organization",
                        help="the token's organization (needed when giving only a jti)")
    revoke.add_argument("--reason", default="revoked with the CLI")
    revoke.set_defaults(handler=_token_revoke)

    secrets = commands.add_parser("secrets", help="channel secrets in the database (encrypted)")
    secrets_commands = secrets.add_subparsers(dest="secrets_command", required=True)
    secrets_commands.add_parser("new-key", help="print a new key for SECRETS_ENCRYPTION_KEY").set_defaults(
        handler=_secrets_new_key)
    secrets_commands.add_parser(
        "current-key", help="print the key that encrypts now (to set SECRETS_ENCRYPTION_KEY explicitly)",
    ).set_defaults(handler=_secrets_current_key)
    secrets_commands.add_parser(
        "rotate", help="re-encrypt every stored secret with the first key of SECRETS_ENCRYPTION_KEY",
    ).set_defaults(handler=_secrets_rotate)

    storage = commands.add_parser("storage", help="what the core database holds")
    storage_commands = storage.add_subparsers(dest="storage_command", required=True)
    storage_commands.add_parser("stats", help="rows and bytes per table, and what retention will delete").set_defaults(
        handler=_storage_stats)

    for register in _plugin_registrations():
        register(commands)
    return parser


def _plugin_registrations() -> list[Any]:
    """Sub-commands owned by their stage (fingerprints, advisories, changes)."""
    from techscaniq.accounts.cli import register as users
    from techscaniq.changes.cli import register as changes
    from techscaniq.scanning.fingerprints.cli import register as fingerprints
    from techscaniq.scanning.security.cli import register as advisories
    from techscaniq.search.cli import register as search

    return [fingerprints, advisories, changes, search, users]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:  # `techscaniq` alone
            parser.print_help()
            return 0
        result: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValidationError as exc:
        print(f"error: {describe_errors(exc.errors())}", file=sys.stderr)
        return 2
    except (OSError, ValueError, QuotaExceededError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return result


def _run(_: argparse.Namespace) -> int:
    from techscaniq.runner import main as run_main

    return run_main()


def _migrate(_: argparse.Namespace) -> int:
    from techscaniq.storage.migrate_all import migrate_all

    for line in asyncio.run(migrate_all(Settings())):
        print(line)
    return 0


def _secrets_new_key(_: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def _secrets_current_key(_: argparse.Namespace) -> int:
    from techscaniq.storage.secret_box import SecretBox

    print(SecretBox.from_settings(Settings()).primary)
    return 0


def _secrets_rotate(_: argparse.Namespace) -> int:
    from techscaniq.storage.factory import opened_storage

    async def rotate() -> int:
        async with opened_storage(Settings()) as storage:
            return await storage.configs.rewrite_secrets()

    print(f"re-encrypted the secrets of {asyncio.run(rotate())} configs with the first key")
    return 0


def _storage_stats(_: argparse.Namespace) -> int:
    from techscaniq.storage.factory import opened_storage
    from techscaniq.storage.sql.storage import Retention

    async def measure() -> tuple[list[tuple[str, int, int]], list[tuple[Retention, int]]]:
        async with opened_storage(Settings()) as storage:
            return await storage.stats(), await storage.expirable()

    found, expiring = asyncio.run(measure())
    print(table(["TABLE", "ROWS", "BYTES"], [[name, f"{rows:,}", f"{size:,}"] for name, rows, size in found]))
    for kept, rows in expiring:
        print(f"retention of {kept.name} ({kept.setting}={kept.days}): "
              + (f"{rows:,} older than {kept.days} days will be deleted at the next hourly run" if kept.days
                 else "off, kept forever"))
    return 0


def _schema(_: argparse.Namespace) -> int:
    from techscaniq.storage.sql.migrations import core_schema_sql

    print(core_schema_sql(), end="")
    return 0


# What the scan's progress line says while each step runs.
STEP_NAMES = {"fetch": "fetching the page", "technologies": "detecting the stack",
              "performance": "measuring performance", "security": "grading security"}


def _scan(args: argparse.Namespace) -> int:
    from techscaniq.domain.availability import answer_is_page
    from techscaniq.domain.config import ScanConfig
    from techscaniq.scanning.analyzers import build_analyzers
    from techscaniq.scanning.fetch import Fetcher
    from techscaniq.scanning.fingerprints.registry import FingerprintRegistry, check_source, one_off_cache_dir
    from techscaniq.scanning.scanner import Scanner

    updates: dict[str, Any] = {}
    if args.fingerprints:
        check_source(args.fingerprints, "--fingerprints")
        updates["fingerprints_dir"] = args.fingerprints
    if args.allow_private:
        updates["allow_private_targets"] = True
    settings = Settings().model_copy(update=updates)
    scan_config = ScanConfig(
        technologies=not args.no_technologies, performance=not args.no_performance,
        security=not args.no_security, full_page=args.full_page, browser=args.browser,
    )

    async def scan_once() -> Any:
        fetcher = Fetcher(settings)
        try:
            registry = FingerprintRegistry(settings, cache_dir=one_off_cache_dir(settings))
            scanner = Scanner(settings, build_analyzers(settings, registry), fetcher)
            steps = scanner.steps(scan_config)
            with Progress(f"scanning {args.url}", total=len(steps), every=0) as progress:
                def started(step: str) -> None:
                    progress.update(steps.index(step) if step in steps else progress.count, STEP_NAMES.get(step, step))

                return await scanner.scan_url(args.url, scan_config, on_step=started)
        finally:
            await fetcher.aclose()

    result = asyncio.run(scan_once())
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(_summary(result))
    # An error page (404, 503) is not the site's page: the scan ran, the site is down.
    status = result.response.status_code if result.response else None
    return 0 if answer_is_page(result.succeeded, status) else 3


def _summary(result: Any) -> str:
    lines = [f"{result.url}: {result.status}"]
    if result.error:
        lines.append(f"  error: {result.error.code}: {result.error.message}")
    if result.response:
        lines.append(f"  status {result.response.status_code}  final URL {result.response.final_url}")
    if result.performance:
        metrics = result.performance.metrics
        shown = ("ttfb_ms", "load_time_ms", "transfer_bytes")
        lines.append("  " + "  ".join(f"{name} {metrics[name]:.0f}" for name in shown if name in metrics))
    if result.security:
        lines.append(f"  security grade {result.security.grade} ({result.security.score}/100)")
        lines += [f"    - {reason}" for reason in grade_reasons(result.security)]
    for tech in result.technologies:
        version = f" {tech.version}" if tech.version else ""
        lines.append(f"  - {tech.name}{version} [{', '.join(tech.categories)}] {tech.confidence}%")
    for step, reason in result.analysis_errors.items():
        lines.append(f"  ! {step} failed: {reason}")
    return "\n".join(lines)


def grade_reasons(report: Any) -> list[str]:
    """What cost the grade points, worst first ('CSP header not implemented (-25)')."""
    from techscaniq.domain.security import GRADED_CATEGORY

    costly = sorted((f for f in report.findings if f.category == GRADED_CATEGORY and f.modifier < 0),
                    key=lambda f: f.modifier)
    return [f"{f.description or f.result} ({f.modifier})" for f in costly]


def _load_documents(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ValueError(f"{path}: {where}not valid YAML: {problem}") from None
    if isinstance(data, dict) and "configs" in data:
        data = data["configs"]
    documents = data if isinstance(data, list) else [data]
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            where = f"item {index}" if isinstance(data, list) else "the document"
            raise ValueError(f"{path}: {where}: expected a config object (name, url, schedule, ...)")
    return documents


def _config_add(args: argparse.Namespace) -> int:
    from techscaniq.domain.config import MIN_INTERVAL, MonitoringConfig
    from techscaniq.storage.factory import opened_storage

    settings = Settings()
    context = {MIN_INTERVAL: settings.min_scan_interval_seconds}
    documents = _load_documents(args.file)
    configs = []
    for index, document in enumerate(documents):
        if args.organization:
            given = document.get("organization_id")
            if given is not None and given != args.organization:
                raise ValueError(f"{args.file}: item {index}: organization_id {given!r} is not --organization "
                                 f"{args.organization!r}")
            document = {**document, "organization_id": args.organization}
        elif "organization_id" not in document:
            raise ValueError(f"{args.file}: item {index}: no organization_id: pass --organization ORG")
        try:
            configs.append(MonitoringConfig.model_validate(document, context=context))
        except ValidationError as exc:
            where = f"item {index} ({document.get('name')!r})" if len(documents) > 1 else "config"
            print(f"error: {args.file}: {where}: {describe_errors(exc.errors())}", file=sys.stderr)
            return 2

    async def add() -> None:
        async with opened_storage(settings) as storage:
            with Progress("adding configs", len(configs)) as progress:
                for config in configs:
                    await storage.configs.add(config, next_run_at=None if config.paused else config.created_at)
                    progress.advance(note=config.name)
        print(table(["ID", "ORGANIZATION", "NAME", "URL"],
                    [[c.id, c.organization_id, c.name, c.url] for c in configs]))
        print(f"added {len(configs)} config{'s' if len(configs) != 1 else ''}")

    asyncio.run(add())
    return 0


def _config_list(args: argparse.Namespace) -> int:
    from techscaniq.storage.factory import opened_storage

    async def listing() -> None:
        async with opened_storage(Settings()) as storage:
            configs = await storage.configs.find(args.organization)
        if not configs:
            print("no configs" + (f" in organization {args.organization!r}" if args.organization else ""))
            return
        print(table(["ID", "ORGANIZATION", "NAME", "STATE", "SCHEDULE", "URL"], [
            [c.id, c.organization_id, c.name, "paused" if c.paused else "active",
             f"{c.schedule.type} {c.schedule.expression}", c.url] for c in configs]))

    asyncio.run(listing())
    return 0


def _token(args: argparse.Namespace) -> int:
    from techscaniq.api.auth import Role, create_token

    if not args.organization:
        raise ValueError("--organization: required to mint a token")
    print(create_token(Settings(), args.organization, Role(args.role), args.subject, args.expires_minutes))
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from techscaniq.api.revocation import JTI_ONLY_RETENTION, RevocationList, revocation_target
    from techscaniq.domain.common import utcnow
    from techscaniq.storage.factory import opened_storage

    settings = Settings()
    given = args.token_or_jti.strip()
    if given.count(".") == 2:
        try:
            jti, organization_id, expires_at = revocation_target(settings, given)
        except ValueError as exc:
            raise ValueError(f"TOKEN_OR_JTI: {exc}") from None
    elif args.revoke_organization:
        jti, organization_id, expires_at = given, args.revoke_organization, utcnow() + JTI_ONLY_RETENTION
    else:
        raise ValueError("--organization: needed when revoking by jti (a JWT names its own organization)")

    async def revoke() -> None:
        async with opened_storage(settings) as storage:
            await RevocationList(storage.revoked_tokens).revoke(jti, organization_id, expires_at, args.reason)

    asyncio.run(revoke())
    print(f"revoked {jti} of {organization_id}; every replica refuses it within 30 s")
    return 0
