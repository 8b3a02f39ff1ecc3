"""What Dockerfile.monitoring builds, rehearsed without a Docker engine.

The build stage's `pip install .` becomes a wheel built from a copy of exactly the files its COPY lines
take (through .dockerignore, as the Docker build context would); the runtime stage becomes a directory
with only the runtime stage's COPY files, run by an interpreter that sees the wheel and the third-party
packages but not the source tree (`python -S`: no editable install). Then the image's CMD must start a
healthy system and the image's HEALTHCHECK command must pass against it, and fail once it has stopped.

    python scripts/deploy_checks/check_image.py"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_system import LiveSystem

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile.monitoring"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def copied_sources(stage: list[tuple[str, str]]) -> list[str]:
    """Context paths of COPY lines (not COPY --from=another stage)."""
    sources = []
    for keyword, rest in stage:
        if keyword == "COPY" and not rest.startswith("--from"):
            sources.extend(rest.split()[:-1])
    return sources


def ignored(relative: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here: last match wins, `!` re-includes."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if pattern in ("**", "*") or fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(
            relative, pattern.replace("**/", "*/")) or relative.startswith(pattern + "/"):
            result = not negate
    return result


def build_context(sources: list[str], target: Path) -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for source in sources:
        origin = ROOT / source
        files = [origin] if origin.is_file() else [p for p in origin.rglob("*") if p.is_file()]
        for file in files:
            relative = str(file.relative_to(ROOT))
            if not ignored(relative, patterns):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target / relative)
        if not (target / source).exists():
            raise SystemExit(f"Dockerfile.monitoring copies {source}, which .dockerignore excludes or is missing")


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    if not isinstance(value, list):
        raise SystemExit(f"expected the exec (JSON) form, got {arguments}")
    return [str(part) for part in value]


def main() -> int:
    build, runtime = stages(DOCKERFILE)[0], stages(DOCKERFILE)[-1]
    cmd = exec_form(next(rest for keyword, rest in runtime if keyword == "CMD"))
    healthcheck = next(rest for keyword, rest in runtime if keyword == "HEALTHCHECK")
    probe = exec_form(healthcheck.split(" CMD ", 1)[1])
    with tempfile.TemporaryDirectory(prefix="techscaniq-image-") as scratch:
        root = Path(scratch)
        build_context(copied_sources(build), root / "context")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "wheel"),
                        str(root / "context")], check=True, timeout=300)
        with zipfile.ZipFile(next((root / "wheel").glob("techscaniq-*.whl"))) as wheel:
            wheel.extractall(root / "site")
        build_context(copied_sources(runtime), root / "app")
        print(f"ok: wheel built from the build context; runtime files: {sorted(os.listdir(root / 'app'))}")

        # `python` of the image = this interpreter without site (no editable install), wheel first.
        python = [sys.executable, "-S"]
        env = {"PYTHONPATH": os.pathsep.join([str(root / "site"), sysconfig.get_paths()["purelib"]])}
        command = [*python, *cmd[1:]] if cmd[0] == "python" else cmd
        system = LiveSystem(env=env, workdir=root / "app", command=command)
        with system:
            status, body = system.get("http", "/health")
            if status != 200:
                raise SystemExit(f"the image's CMD started an unhealthy system: {status} {body}")
            probe_env = {**system.env}
            result = subprocess.run([*python, *probe[1:]], env=probe_env, capture_output=True, text=True,
                                    timeout=10, check=False)
            if result.returncode != 0:
                raise SystemExit(f"HEALTHCHECK failed against a healthy system: {result.stderr}")
            print(f"ok: image CMD {cmd} serves /health 200; HEALTHCHECK passes")
            code = system.stop()
        if code != 0:
            raise SystemExit(f"the system exited with {code} on SIGTERM:\n{system.output}")
        result = subprocess.run([*python, *probe[1:]], env=probe_env, capture_output=True, text=True, timeout=10,
                                check=False)
        if result.returncode == 0:
            raise SystemExit("HEALTHCHECK passes although the system has stopped")
        print("ok: clean exit on SIGTERM; HEALTHCHECK fails once the system is down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
