#!/usr/bin/env bash
# End-to-end throughput of cluster mode against the local journal (docs/performance.md, "Cluster mode"), back to back
# on the same machine: a PostgreSQL primary with a synchronous streaming standby (initdb into a temporary directory,
# run as the postgres user, fsync on), then for each round the daemon on the local journal and the daemon in cluster
# mode with a second daemon following as standby, each driven by `acd-loadgen max`. While the cluster runs, the
# standby's lag (acd_cluster_standby_lag_records and _seconds, measured each time it wakes) is sampled every 0.2 s.
#   bench/cluster-e2e.sh [rounds] [loadgen options]      e.g. bench/cluster-e2e.sh 2 --duration 20 --rate 50000
# Environment: ACD_PG_SYNC=0 for a PostgreSQL without its standby; ACD_MODES=cluster for cluster mode alone. Needs root and Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"; shift || true
[ $# -gt 0 ] || set -- --duration 20 --warmup 3 --calls 8000000
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Acd.Host -c Release -nologo -v quiet >/dev/null
dotnet build bench/Acd.LoadGen -c Release -nologo -v quiet >/dev/null
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/acd-cluster-e2e-XXXXXX)
chown postgres:postgres "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "$work/standby" "$work/primary"; do
    [ -d "$d" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
pg() { runuser -u postgres -- "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
pg "$bin/initdb" -D "$work/primary" -A trust -U postgres -E UTF8 >/dev/null
pg "$bin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
if [ "${ACD_PG_SYNC:-1}" = 1 ]; then
  sport=$(free_port)
  pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$work/standby" -R -X stream
  echo "primary_conninfo = 'host=127.0.0.1 port=$port user=postgres application_name=standby1'" | pg tee -a "$work/standby/postgresql.auto.conf" >/dev/null
  pg "$bin/pg_ctl" -D "$work/standby" -l "$work/standby.log" -w -o "-p $sport -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  pg "$bin/psql" -qh 127.0.0.1 -p "$port" -U postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 60); do
    [ "$(pg "$bin/psql" -qtAh 127.0.0.1 -p "$port" -U postgres -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ] && break
    sleep 0.5
  done
  echo "PostgreSQL $(basename "$(dirname "$bin")"): primary on $port, synchronous standby on $sport"
else
  echo "PostgreSQL $(basename "$(dirname "$bin")"): primary on $port, no standby"
fi
cs="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
acd=src/Acd.Host/bin/Release/net10.0/acd.dll
config=bench/configs/max-throughput.json

wait_ready() { # url expected-body-prefix pid log
  for _ in $(seq 1 240); do
    body=$(curl -s "$1" 2>/dev/null || true)
    case "$body" in "$2"*) return 0 ;; esac
    kill -0 "$3" 2>/dev/null || { cat "$4"; exit 1; }
    sleep 0.25
  done
  echo "not $2 in time: $body" >&2; cat "$4"; exit 1
}

run() { # local|cluster [loadgen options]
  local mode=$1; shift
  local data="$work/run-$mode-$RANDOM" daemon standby=
  mkdir -p "$data"
  local opts=()
  [ "$mode" = cluster ] && opts=(--cluster "$cs" --Acd:Cluster:NodeName=a)
  [ "$mode" = cluster ] && pg "$bin/psql" -qh 127.0.0.1 -p "$port" -U postgres -c "DROP TABLE IF EXISTS acd_journal, acd_snapshot, acd_lease" >/dev/null 2>&1
  dotnet "$acd" --config "$config" --data "$data/a" --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 \
    --Logging:LogLevel:Default=Warning "${opts[@]}" >"$data/a.log" 2>&1 &
  daemon=$!; pids+=("$daemon")
  wait_ready http://127.0.0.1:28080/readyz ready "$daemon" "$data/a.log"
  if [ "$mode" = cluster ]; then
    dotnet "$acd" --config "$config" --data "$data/b" --sip 127.0.0.1:25160 --grpc 127.0.0.1:25151 --http 127.0.0.1:28180 \
      --Logging:LogLevel:Default=Warning --cluster "$cs" --Acd:Cluster:NodeName=b >"$data/b.log" 2>&1 &
    standby=$!; pids+=("$standby")
    wait_ready http://127.0.0.1:28180/readyz "not ready: standby" "$standby" "$data/b.log"
    ( while kill -0 "$standby" 2>/dev/null; do
        curl -s http://127.0.0.1:28180/metrics | grep -E '^acd_cluster_standby_lag_(records|seconds)' | tr '\n' ' '; echo
        sleep 0.2
      done ) >"$data/lag.txt" &
    pids+=("$!")
  fi
  echo "== $mode"
  dotnet bench/Acd.LoadGen/bin/Release/net10.0/acd-loadgen.dll max --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 "$@" \
    | grep -E 'max mode|calls a second|INVITE|daemon CPU|errors' || true
  if [ -n "$standby" ]; then
    sleep 1
    /usr/bin/python3 - "$data/lag.txt" <<'PY'
import re, sys, statistics
recs, secs = [], []
for line in open(sys.argv[1]):
    r = re.search(r'lag_records\{[^}]*\} (\S+)', line); s = re.search(r'lag_seconds\{[^}]*\} (\S+)', line)
    if r and s: recs.append(float(r.group(1))); secs.append(float(s.group(1)))
recs, secs = recs[5:], secs[5:]  # the first second: catching up from the start
if recs:
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
    print(f"standby lag over {len(recs)} samples: records median {q(recs, .5):.0f} p99 {q(recs, .99):.0f} max {max(recs):.0f}; "
          f"seconds median {q(secs, .5):.3f} p99 {q(secs, .99):.3f} max {max(secs):.3f}")
PY
    kill "$standby" 2>/dev/null; wait "$standby" 2>/dev/null || true
  fi
  kill "$daemon"; wait "$daemon" 2>/dev/null || true
  grep -iE 'fail|error|lost' "$data/a.log" | head -5 || true
}

for r in $(seq 1 "$rounds"); do
  echo "# round $r"
  for m in ${ACD_MODES:-local cluster}; do run "$m" "$@"; done
done
