"""The deployment checks fail on the mistakes they exist for: each checker gets a broken copy of an
artifact and must name what is wrong. check_compose, check_k8s, check_kafka, check_metrics, env_example and promql
are the modules of scripts/deploy_checks (conftest.py puts that directory on sys.path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import check_compose
import check_k8s
import check_kafka
import check_metrics
import env_example
import promql
import pytest
import yaml
from tests.deploy.conftest import ROOT


def test_env_example_problems_name_the_setting(tmp_path: Path) -> None:
    text = (ROOT / ".env.example").read_text()
    broken = tmp_path / ".env.example"
    broken.write_text(
        text.replace("# HTTP_PORT=8000", "# HTTP_PORT=8080")
        .replace("# LOG_LEVEL=INFO\n", "")
        .replace("# DASHBOARD_ENABLED=true", "# DASHBOARD_ENABLED=true\n# Not a setting.\n# DASHBOARD_THEME=dark")
    )
    problems = "\n".join(env_example.problems(broken, compose_variables={"POSTGRES_PASSWORD", "TIMESCALE_PASSWORD"}))
    assert "# HTTP_PORT=8080 but the default is 8000" in problems
    assert "setting LOG_LEVEL is not documented" in problems
    assert "DASHBOARD_THEME is neither a setting nor a docker compose variable" in problems


def test_env_example_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from techscaniq.settings import Settings

    for name in env_example.settings_variables():  # the environment would win over the file
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    values = env_example.env_example_values()
    assert settings.database_url == values["DATABASE_URL"]
    assert settings.kafka_servers == "localhost:9092"
    assert not settings.embedded


def test_compose_check_names_unknown_settings_missing_healthchecks_and_files(tools: Path, tmp_path: Path) -> None:
    compose_file = tmp_path / "docker-compose.broken.yml"
    compose_file.write_text(yaml.safe_dump({"services": {
        "db": {"image": "postgres:16"},
        "techscaniq-monitoring": {
            "image": "techscaniq/monitoring:latest",
            "environment": {"DATABASE_URL": "postgresql://db/x", "DATABSE_POOL_SIZE": "5"},
            "depends_on": ["db"],
            "volumes": [f"{tmp_path}/missing.sql:/docker-entrypoint-initdb.d/001.sql:ro"],
        },
    }}))
    project, errors = check_compose.loaded(str(tools / "bin/docker-compose"), compose_file, {})
    assert project is not None, errors
    problems = "\n".join(check_compose.structure_problems(compose_file.name, project))
    assert "environment DATABSE_POOL_SIZE is not a setting of the application" in problems
    assert "service db: no health check" in problems
    assert "depends_on db should wait for condition service_healthy" in problems
    assert "missing.sql does not exist" in problems


def test_compose_refuses_a_dependency_on_an_undefined_service(tools: Path, tmp_path: Path) -> None:
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text("services:\n  app:\n    image: x\n    depends_on: [zookeeper]\n")
    project, errors = check_compose.loaded(str(tools / "bin/docker-compose"), compose_file, {})
    assert project is None
    assert "zookeeper" in errors[0]


def test_production_compose_refuses_to_start_without_each_secret(tools: Path) -> None:
    binary = str(tools / "bin/docker-compose")
    path = ROOT / "docker-compose.prod.yml"
    assert check_compose.production_problems(binary, path) == []
    result = check_compose.compose(binary, path, "config", "-q", env={"POSTGRES_PASSWORD": "x"})
    assert result.returncode != 0
    # Compose names the first missing one it meets, in no fixed order.
    assert any(f"required variable {name} is missing" in result.stderr
               for name in ("TIMESCALE_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET_KEY"))


def test_kubernetes_validate_rejects_a_misspelled_field(tools: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text((ROOT / "k8s/monitoring-deployment.yaml").read_text()
                        .replace("initialDelaySeconds: 30", "initialDelaySecond: 30"))
    result = subprocess.run([str(tools / "venv/bin/kubernetes-validate"), "--strict", "--quiet", str(manifest)],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "'initialDelaySecond' was unexpected" in result.stdout + result.stderr


def test_k8s_check_names_broken_references(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "k8s", tmp_path / "k8s")
    services = tmp_path / "k8s/services.yaml"
    services.write_text(services.read_text().replace("targetPort: websocket", "targetPort: ws", 1))
    deployment = tmp_path / "k8s/monitoring-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("key: metrics-url", "key: metrics_url")
                          .replace("path: /ready", "path: /readyz"))
    problems = "\n".join(check_k8s.problems(tmp_path / "k8s"))
    assert "Service techscaniq-websocket: targetPort ws is not a container port" in problems
    assert "reads database-secret/metrics_url, which no manifest in k8s/ defines" in problems
    assert "readinessProbe must GET /ready on port 8000" in problems
    assert check_k8s.problems(ROOT / "k8s") == []


EXPORTED = """\
# HELP techscaniq_scans_total Scans finished, by status
# TYPE techscaniq_scans_total counter
# HELP scans_failed_total Scans that failed, by reason
# TYPE scans_failed_total counter
# HELP techscaniq_scan_duration_seconds Wall time of one scan
# TYPE techscaniq_scan_duration_seconds histogram
techscaniq_scan_duration_seconds_bucket{le="1.0"} 0.0
# HELP techscaniq_active_configs Monitoring configs that are not paused
# TYPE techscaniq_active_configs gauge
techscaniq_active_configs 3.0
"""


def test_exported_names_include_declared_metrics_without_samples() -> None:
    names = promql.exported_names(EXPORTED)
    assert {"techscaniq_scans_total", "scans_failed_total", "techscaniq_scan_duration_seconds_sum",
            "techscaniq_scan_duration_seconds_bucket", "techscaniq_active_configs"} <= names
    assert "techscaniq_scans_failed_total" not in names


@pytest.mark.parametrize(("expr", "names"), [
    ('up{job="techscaniq-monitoring"} == 0', {"up"}),
    ("sum by (job) (rate(scans_failed_total[15m])) / sum by (job) (rate(techscaniq_scans_total[15m])) > 0.10",
     {"scans_failed_total", "techscaniq_scans_total"}),
    ("histogram_quantile(0.95, sum by (le) (rate(techscaniq_scan_duration_seconds_bucket[5m])))",
     {"techscaniq_scan_duration_seconds_bucket"}),
    ("techscaniq_queue_depth / on(queue, instance) group_left techscaniq_queue_capacity >= 0.95",
     {"techscaniq_queue_depth", "techscaniq_queue_capacity"}),
    ('sum(rate(http2_requests_total{code=~"5.."}[5m] offset 1h)) * 3600', {"http2_requests_total"}),
])
def test_metric_names_of_promql(expr: str, names: set[str]) -> None:
    assert promql.metric_names(expr) == names


def test_rules_with_unexported_metrics_or_unknown_jobs_are_named() -> None:
    queries = [("Typo", "rate(techscaniq_scans_failed_total[5m]) > 0"), ("AnyUp", "up == 0"),
               ("Fine", 'up{job="techscaniq-monitoring"} == 0 or techscaniq_active_configs < 1')]
    problems = check_metrics.unknown_metrics(queries, promql.exported_names(EXPORTED), {"techscaniq-monitoring"}, "r")
    assert problems == [
        "r: Typo: metric `techscaniq_scans_failed_total` is not exported by the application",
        "r: AnyUp: `up` must select a scrape job of prometheus.yml (techscaniq-monitoring)",
    ]


def test_dashboard_check_names_overlaps_and_panels_without_queries(tmp_path: Path) -> None:
    dashboard = json.loads((ROOT / "monitoring/grafana/dashboards/techscaniq-overview.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    panels[1]["gridPos"] = dict(panels[0]["gridPos"])
    panels[2]["targets"] = []
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps({"dashboard": dashboard}))  # the guide's API payload form loads too
    problems = "\n".join(check_metrics.dashboard_problems(path))
    assert f"panel {panels[1]['title']!r} overlaps {panels[0]['title']!r}" in problems
    assert f"panel {panels[2]['title']!r}: every panel needs targets with a PromQL `expr`" in problems
    assert check_metrics.dashboard_problems(ROOT / "monitoring/grafana/dashboards/techscaniq-overview.json") == []


def test_promtool_rejects_invalid_promql(tools: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: rate(scans_failed_total[5m] > 0.1\n")
    result = subprocess.run([str(tools / "bin/promtool"), "check", "rules", str(rules)], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0
    assert "Broken" in result.stdout + result.stderr or "parse error" in result.stdout + result.stderr


def test_hadolint_rejects_a_careless_dockerfile(tools: Path, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    result = subprocess.run([str(tools / "venv/bin/hadolint"), str(dockerfile)], capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # `latest` tag


HEALTH = {"status": "healthy", "components": {"database": {"status": "running"}, "scheduler": {"status": "running"}}}
HEALTHY_PAGE = EXPORTED + """\
# HELP techscaniq_component_up 1 when a component is healthy
# TYPE techscaniq_component_up gauge
techscaniq_component_up{component="database"} 1.0
techscaniq_component_up{component="scheduler"} 1.0
# HELP techscaniq_database_up 1 when the database answers
# TYPE techscaniq_database_up gauge
techscaniq_database_up 1.0
# HELP techscaniq_process_memory_ratio Resident memory / memory limit
# TYPE techscaniq_process_memory_ratio gauge
techscaniq_process_memory_ratio 0.2
"""


def run_healthy_test(tools: Path, tmp_path: Path, page: str) -> subprocess.CompletedProcess[str]:
    test = check_metrics.healthy_system_test(page, [ROOT / "monitoring/prometheus/alerts.yml"], "techscaniq-monitoring")
    path = tmp_path / "healthy_test.yml"
    path.write_text(yaml.safe_dump(test))
    return subprocess.run([str(tools / "bin/promtool"), "test", "rules", str(path)], capture_output=True, text=True,
                          check=False)


def test_a_healthy_page_fires_no_alert_and_agrees_with_health(tools: Path, tmp_path: Path) -> None:
    assert check_metrics.health_problems(HEALTH, HEALTHY_PAGE) == []
    result = run_healthy_test(tools, tmp_path, HEALTHY_PAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gauges_that_contradict_health_are_named_and_fire_their_alerts(tools: Path, tmp_path: Path) -> None:
    page = (HEALTHY_PAGE.replace('techscaniq_component_up{component="scheduler"} 1.0',
                                 'techscaniq_component_up{component="scheduler"} 0.0')
            .replace("techscaniq_database_up 1.0", "techscaniq_database_up 0.0")
            .replace("techscaniq_process_memory_ratio 0.2", "techscaniq_process_memory_ratio 0.93"))
    assert check_metrics.health_problems(HEALTH, page) == [
        '/health reports component scheduler running but techscaniq_component_up{component="scheduler"} is not 1',
        "/health reports the database running but techscaniq_database_up is not 1",
    ]
    result = run_healthy_test(tools, tmp_path, page)
    assert result.returncode != 0
    for alert in ("ComponentDown", "DatabaseConnectionLost", "HighMemoryUsage"):
        assert f"alertname: {alert}," in result.stdout + result.stderr


def kafka_libs(tools: Path) -> Path:
    """Where scripts/check_deploy.sh found or fetched the Kafka jars (see ensure_kafka_libs)."""
    services = Path(os.environ.get("TECHSCANIQ_SERVICES_DIR", ROOT / ".services")) / "kafka/libs"
    return services if any(services.glob("kafka_2.13-*.jar")) else tools / "kafka-libs"


KRAFT = {
    "CLUSTER_ID": "dGVjaHNjYW5pcS1wcmQtMQ", "KAFKA_NODE_ID": "1", "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
    "KAFKA_LISTENERS": "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT", "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
}


@pytest.mark.timeout(180)
def test_kafka_check_rejects_what_the_broker_would(tools: Path) -> None:
    libs = kafka_libs(tools)
    assert check_kafka.validate(KRAFT, libs, "kafka") == []
    broken = check_kafka.validate({**KRAFT, "KAFKA_CONTROLLER_LISTENER_NAMES": "CTRL"}, libs, "kafka")
    assert "controller.listener.names must contain at least one value appearing in the 'listeners'" in broken[0]
    # The guide's service: ZooKeeper mode, pointing at a service its file never defined.
    guide = {"KAFKA_BROKER_ID": "1", "KAFKA_ZOOKEEPER_CONNECT": "zookeeper:2181",
             "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092"}
    assert "KAFKA_ZOOKEEPER_CONNECT set" in check_kafka.validate(guide, libs, "kafka")[0]
    assert "is not 16 bytes" in check_kafka.validate({**KRAFT, "CLUSTER_ID": "dGVjaHNjYW5pcS1wcm9kLTE"}, libs,
                                                     "kafka")[0]


def test_cp_kafka_variables_become_broker_properties(tmp_path: Path) -> None:
    props = check_kafka.properties({**KRAFT, "KAFKA_LOG_RETENTION_HOURS": "168", "KAFKA_HEAP_OPTS": "-Xmx1g",
                                    "KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE": "false"}, tmp_path)
    assert props["log.retention.hours"] == "168" and props["controller.quorum.voters"] == "1@kafka:9093"
    assert props["confluent.support_metrics-enable"] == "false"
    assert "heap.opts" not in props and props["log.dirs"] == str(tmp_path)
