#!/usr/bin/env bash
# End-to-end runs of SPEC section 10: starts the daemon (Release) on a configuration from bench/configs with a fresh
# data directory, drives it with the load generator, prints the load generator's report, stops the daemon.
#   bench/e2e.sh max  [loadgen options]     10,000 agents, no wrap-up: calls a second, INVITE→302 latency, CPU per call
#   bench/e2e.sh day  [loadgen options]     a compressed hotline day on bench/configs/day.json
#   bench/e2e.sh fill [loadgen options]     1,000,000 waiting calls and 100,000 agents: resident memory
# Daemon options go in ACD_OPTS (e.g. ACD_OPTS=--Acd:Journal:Enabled=false); ports are 25060/25051/28080.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:?usage: bench/e2e.sh max|day|fill [loadgen options]}"; shift
case "$mode" in
  max) config=bench/configs/max-throughput.json ;;
  day) config=bench/configs/day.json ;;
  fill) config=bench/configs/scale.json ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Acd.Host -c Release -nologo -v quiet >/dev/null
dotnet build bench/Acd.LoadGen -c Release -nologo -v quiet >/dev/null
data=$(mktemp -d /tmp/acd-e2e-XXXXXX)
log="$data/daemon.log"
# shellcheck disable=SC2086
dotnet src/Acd.Host/bin/Release/net10.0/acd.dll --config "$config" --data "$data/data" \
  --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 --Logging:LogLevel:Default=Warning ${ACD_OPTS:-} >"$log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -fs http://127.0.0.1:28080/readyz >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
dotnet bench/Acd.LoadGen/bin/Release/net10.0/acd-loadgen.dll "$mode" --sip 127.0.0.1:25060 --grpc 127.0.0.1:25051 --http 127.0.0.1:28080 "$@"
