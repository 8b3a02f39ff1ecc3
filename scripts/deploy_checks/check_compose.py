"""Check the docker compose files offline with Docker Compose's own loader (`docker compose config`, no
engine needed) and then what that loader does not check: every service has a health check and its
dependents wait for it, bind-mounted files and the Dockerfile exist, the application gets only settings
it knows, every interpolated variable is documented in .env.example, and the development ports match
the URLs of .env.example.

    python scripts/deploy_checks/check_compose.py --compose-bin .services/tools/bin/docker-compose [FILE...]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from env_example import env_example_names, env_example_values, settings_variables

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICE = "techscaniq-monitoring"
# Secrets a production file must refuse to start without (`${VAR:?message}`).
PRODUCTION_REQUIRED = ("POSTGRES_PASSWORD", "TIMESCALE_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET_KEY")
DEV_URL_SERVICES = {"DATABASE_URL": "postgres", "METRICS_DATABASE_URL": "timescaledb", "REDIS_URL": "redis",
                    "KAFKA_SERVERS": "kafka"}


def compose(binary: str, path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Only the variables given here: the result must not depend on the caller's shell or a local .env.
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([binary, "--project-directory", str(ROOT), "--env-file", os.devnull, "-f", str(path),
                           *args], capture_output=True, text=True, env={**base, **(env or {})}, check=False)


def loaded(binary: str, path: Path, env: dict[str, str]) -> tuple[dict[str, Any] | None, list[str]]:
    result = compose(binary, path, "--profile", "*", "config", "--format", "json", env=env)
    if result.returncode != 0:
        return None, [f"{path.name}: docker compose config failed: {result.stderr.strip()}"]
    return json.loads(result.stdout), []


def structure_problems(name: str, project: dict[str, Any]) -> list[str]:
    problems = []
    services: dict[str, Any] = project.get("services", {})
    known = settings_variables()
    for service_name, service in services.items():
        where = f"{name}: service {service_name}"
        build = service.get("build")
        dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile") if build else None
        if dockerfile is not None and not dockerfile.is_file():
            problems.append(f"{where}: Dockerfile {dockerfile} does not exist")
        image_healthcheck = dockerfile is not None and dockerfile.is_file() and "HEALTHCHECK" in dockerfile.read_text()
        if not service.get("healthcheck") and not image_healthcheck:
            problems.append(f"{where}: no health check")
        for dependency, condition in (service.get("depends_on") or {}).items():
            if condition.get("condition") != "service_healthy":
                problems.append(f"{where}: depends_on {dependency} should wait for condition service_healthy")
            if not services.get(dependency, {}).get("healthcheck"):
                problems.append(f"{where}: depends on {dependency}, which has no health check")
        for volume in service.get("volumes", []):
            if volume.get("type") == "bind" and not Path(volume["source"]).exists():
                problems.append(f"{where}: bind-mounted {volume['source']} does not exist")
        if service_name == APP_SERVICE:
            for variable in service.get("environment") or {}:
                if variable not in known:
                    problems.append(f"{where}: environment {variable} is not a setting of the application")
    return problems


def variable_problems(binary: str, path: Path) -> list[str]:
    result = compose(binary, path, "config", "--variables", "--format", "json")
    if result.returncode != 0:
        return [f"{path.name}: docker compose config --variables failed: {result.stderr.strip()}"]
    documented = env_example_names()
    return [f"{path.name}: variable {name} is not documented in .env.example"
            for name in json.loads(result.stdout) if name not in documented]


def production_problems(binary: str, path: Path) -> list[str]:
    """Each production secret, when missing, stops `config` with a message that names it."""
    problems = []
    full = {name: "x" for name in PRODUCTION_REQUIRED}
    for name in PRODUCTION_REQUIRED:
        result = compose(binary, path, "config", "-q", env={k: v for k, v in full.items() if k != name})
        if result.returncode == 0 or name not in result.stderr:
            problems.append(f"{path.name}: starts without {name}; it must be required (${{{name}:?...}})")
    return problems


def dev_port_problems(name: str, project: dict[str, Any]) -> list[str]:
    """The URLs in .env.example reach the ports the development file publishes."""
    problems = []
    values = env_example_values()
    for variable, service in DEV_URL_SERVICES.items():
        url = values.get(variable)
        if not url:
            problems.append(f".env.example: {variable} is not set for the development infrastructure")
            continue
        port = urlsplit(url if "://" in url else f"kafka://{url}").port
        published = {int(p["published"]) for p in project["services"].get(service, {}).get("ports", [])}
        if port not in published:
            problems.append(f"{name}: .env.example {variable} uses port {port}, {service} publishes {published}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose-bin", required=True)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or [ROOT / "docker-compose.monitoring.yml", ROOT / "docker-compose.prod.yml"]
    problems: list[str] = []
    for path in files:
        production = "prod" in path.name
        env = {name: "check-value" for name in PRODUCTION_REQUIRED} if production else dict(env_example_values())
        project, errors = loaded(args.compose_bin, path, env)
        problems += errors
        if project is None:
            continue
        problems += structure_problems(path.name, project)
        problems += variable_problems(args.compose_bin, path)
        problems += production_problems(args.compose_bin, path) if production else dev_port_problems(path.name, project)
        if APP_SERVICE not in project["services"] and production:
            problems.append(f"{path.name}: no {APP_SERVICE} service")
        print(f"checked {path.name}: {len(project['services'])} services")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
