"""Check the Kafka service of each compose file with Kafka's own configuration validation.

The confluentinc/cp-kafka image turns KAFKA_* variables into server.properties (KAFKA_LOG_DIRS ->
log.dirs; `__` -> `_`, `___` -> `-`) and formats its storage with CLUSTER_ID. This does the same and runs
`kafka.tools.StorageTool format` from the Kafka jars that scripts/services.sh uses: it builds the broker's
KafkaConfig, which rejects an inconsistent KRaft setup (roles, controller listeners and quorum, advertised
listeners) and an invalid cluster id, exactly as the broker would at start. log.dirs points at a scratch
directory.

    python scripts/deploy_checks/check_kafka.py --compose-bin BIN --kafka-libs DIR [FILE...]"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_compose import PRODUCTION_REQUIRED, compose

ROOT = Path(__file__).resolve().parents[2]
# Variables the image's launch scripts read themselves, not broker properties.
IMAGE_VARIABLES = {"CLUSTER_ID", "KAFKA_HEAP_OPTS", "KAFKA_JMX_PORT", "KAFKA_JMX_HOSTNAME", "KAFKA_OPTS",
                   "KAFKA_LOG4J_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL"}


def properties(environment: dict[str, str], log_dir: Path) -> dict[str, str]:
    """cp-kafka's env-to-property mapping."""
    result = {}
    for name, value in environment.items():
        if name in IMAGE_VARIABLES or not name.startswith("KAFKA_"):
            continue
        key = name.removeprefix("KAFKA_").lower().replace("___", "-").replace("__", "\0").replace("_", ".")
        result[key.replace("\0", "_")] = str(value)
    result["log.dirs"] = str(log_dir)
    return result


def validate(environment: dict[str, str], libs: Path, where: str) -> list[str]:
    if "KAFKA_ZOOKEEPER_CONNECT" in environment:
        return [f"{where}: KAFKA_ZOOKEEPER_CONNECT set; this deployment runs Kafka in KRaft mode"]
    if not environment.get("CLUSTER_ID"):
        return [f"{where}: CLUSTER_ID is required in KRaft mode"]
    try:  # Kafka's Uuid: 16 bytes in URL-safe base64 without padding (Kafka 3.x refuses anything else)
        raw = base64.urlsafe_b64decode(environment["CLUSTER_ID"] + "==")
    except ValueError:
        raw = b""
    if len(raw) != 16 or len(environment["CLUSTER_ID"]) != 22:
        return [f"{where}: CLUSTER_ID {environment['CLUSTER_ID']!r} is not 16 bytes of URL-safe base64 "
                f"(e.g. `head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22`)"]
    with tempfile.TemporaryDirectory(prefix="techscaniq-kafka-") as scratch:
        config = Path(scratch) / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in properties(environment, Path(scratch) / "data").items()))
        result = subprocess.run(["java", "-Xmx256m", "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
                                 "-t", environment["CLUSTER_ID"], "-c", str(config)],
                                capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        message = "\n".join(line for line in (result.stdout + result.stderr).splitlines()
                            if "Exception" in line or "must" in line or "rror" in line) or result.stderr[-2000:]
        return [f"{where}: Kafka rejects this configuration: {message}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose-bin", required=True)
    parser.add_argument("--kafka-libs", type=Path, required=True)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or [ROOT / "docker-compose.monitoring.yml", ROOT / "docker-compose.prod.yml"]
    problems = []
    for path in files:
        result = compose(args.compose_bin, path, "config", "--format", "json",
                         env={name: "check-value" for name in PRODUCTION_REQUIRED})
        if result.returncode != 0:
            problems.append(f"{path.name}: docker compose config failed: {result.stderr.strip()}")
            continue
        kafka = json.loads(result.stdout)["services"].get("kafka")
        if kafka is None:
            problems.append(f"{path.name}: no kafka service")
            continue
        found = validate(kafka.get("environment") or {}, args.kafka_libs, f"{path.name} kafka")
        problems += found
        if not found:
            print(f"ok: {path.name}: Kafka's StorageTool accepts the kafka service's KRaft configuration")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
