#!/usr/bin/env bash
# Routing throughput with 50 wallboard viewers against none (issue 19's load check): the daemon on
# bench/configs/max-throughput.json, `acd-loadgen max` for each run, alternately without viewers and with 50 open
# /wallboard/stream connections (curl, reading everything), ROUNDS times (default 2).
#   bench/wallboard-load.sh [rounds] [viewers]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"; viewers="${2:-50}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Acd.Host -c Release -nologo -v quiet >/dev/null
dotnet build bench/Acd.LoadGen -c Release -nologo -v quiet >/dev/null
data=$(mktemp -d /tmp/acd-wallboard-load-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$data"' EXIT
dotnet src/Acd.Host/bin/Release/net10.0/acd.dll --config bench/configs/max-throughput.json --data "$data/data" \
  --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 --Logging:LogLevel:Default=Warning >"$data/log" 2>&1 &
daemon=$!; pids+=("$daemon")
for _ in $(seq 1 120); do curl -fs http://127.0.0.1:28080/readyz >/dev/null 2>&1 && break; sleep 0.5; done
run() {
  dotnet bench/Acd.LoadGen/bin/Release/net10.0/acd-loadgen.dll max --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 \
    --duration 15 --warmup 3 --calls 8000000 --quiet | grep -E "calls a second" | awk '{print $4}'
}
for r in $(seq 1 "$rounds"); do
  echo "round $r, no viewers:   $(run) calls/s"
  streams=()
  for _ in $(seq 1 "$viewers"); do curl -sN http://127.0.0.1:28080/wallboard/stream >"$data/viewer-$RANDOM" 2>/dev/null & streams+=("$!"); done
  sleep 1
  echo "round $r, $viewers viewers: $(run) calls/s ($(ls "$data"/viewer-* | wc -l) streams, $(cat "$data"/viewer-* | grep -c '^data:') updates received)"
  kill "${streams[@]}" 2>/dev/null || true; wait "${streams[@]}" 2>/dev/null || true
  rm -f "$data"/viewer-*
done
