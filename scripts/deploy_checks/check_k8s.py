"""Check what the Kubernetes schemas cannot: that the manifests of k8s/ fit together and fit the image.

Schema validation itself is kubernetes-validate (run by scripts/check_deploy.sh). This adds: one
namespace for everything, selectors that match the pod labels, Service target ports and probe ports
that the container declares and the application listens on, probes on /health and /ready, referenced
ConfigMaps and Secrets (and their keys) that exist in k8s/ or k8s/examples/, environment variables
that are settings of the application, and an autoscaler that targets the deployment.

    python scripts/deploy_checks/check_k8s.py [DIR]"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from env_example import settings_fields

ROOT = Path(__file__).resolve().parents[2]
APP_PORTS = {"http_port": "/health", "websocket_port": "/stats"}


def documents(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("examples/*.yaml")]):
        found.extend((path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return found


def problems(directory: Path) -> list[str]:
    docs = documents(directory)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    found: list[str] = []
    namespaces = {d["metadata"]["name"] for d in by_kind.get("Namespace", [])}
    for path, doc in docs:
        namespace = doc["metadata"].get("namespace")
        if doc["kind"] != "Namespace" and namespace not in namespaces:
            found.append(f"{path.name}: {doc['kind']} {doc['metadata']['name']} is in namespace {namespace!r}, "
                         f"which k8s/ does not define")
    config_maps = {d["metadata"]["name"]: set(d.get("data", {})) for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {}))
               for d in by_kind.get("Secret", [])}
    settings = settings_fields()
    defaults = {name: int(settings[name.upper()].default) for name in APP_PORTS}
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    pod_labels: list[dict[str, str]] = []
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        pod_labels.append(labels)
        if not _matches(spec["selector"].get("matchLabels", {}), labels):
            found.append(f"Deployment {name}: selector does not match its pod labels")
        for container in spec["template"]["spec"]["containers"]:
            where = f"Deployment {name} container {container['name']}"
            declared = {p["containerPort"] for p in container.get("ports", [])}
            named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            if set(defaults.values()) - declared:
                found.append(f"{where}: must declare the application ports {sorted(defaults.values())}")
            for probe, probe_path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
                http = container.get(probe, {}).get("httpGet", {})
                port = named.get(http.get("port"), http.get("port"))
                if http.get("path") != probe_path or port != defaults["http_port"]:
                    found.append(f"{where}: {probe} must GET {probe_path} on port {defaults['http_port']}")
            for env in container.get("env", []):
                if env["name"] not in settings:
                    found.append(f"{where}: env {env['name']} is not a setting of the application")
                ref = env.get("valueFrom", {}).get("secretKeyRef") or env.get("valueFrom", {}).get("configMapKeyRef")
                if ref and not ref.get("optional"):
                    pool = secrets if "secretKeyRef" in env["valueFrom"] else config_maps
                    if ref["key"] not in pool.get(ref["name"], set()):
                        found.append(f"{where}: env {env['name']} reads {ref['name']}/{ref['key']}, "
                                     f"which no manifest in k8s/ defines")
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef") or source.get("secretRef") or {}
                pool = config_maps if "configMapRef" in source else secrets
                if ref.get("name") not in pool:
                    found.append(f"{where}: envFrom {ref.get('name')} is not defined in k8s/")
                found.extend(f"ConfigMap {ref.get('name')}: {key} is not a setting of the application"
                             for key in sorted(pool.get(ref.get("name"), set())) if key not in settings)
    for service in by_kind.get("Service", []):
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector", {})
        if not any(_matches(selector, labels) for labels in pod_labels):
            found.append(f"Service {name}: selector {selector} matches no pod of k8s/")
        container_ports = {p.get("name"): p["containerPort"] for d in deployments.values()
                           for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if target not in container_ports and target not in container_ports.values():
                found.append(f"Service {name}: targetPort {target} is not a container port")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            found.append(f"HorizontalPodAutoscaler {hpa['metadata']['name']}: targets {target['kind']} "
                         f"{target['name']}, which k8s/ does not define")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not any(_matches(pdb["spec"]["selector"].get("matchLabels", {}), labels) for labels in pod_labels):
            found.append(f"PodDisruptionBudget {pdb['metadata']['name']}: selector matches no pod")
    return found


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main(argv: list[str] | None = None) -> int:
    directory = Path(argv[0]) if argv else ROOT / "k8s"
    found = problems(directory)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if not found:
        print(f"ok: {len(documents(directory))} Kubernetes objects in {directory} fit together and fit the image")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
