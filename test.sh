#!/usr/bin/env bash
# Runs every test of ACD on a fresh Debian machine (as root): installs what the tests need, builds, runs the
# xUnit suites and the benchmark smoke run, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results=$(mktemp -d)
passed=0
failed=0

log() { printf '\n== %s\n' "$*"; }

# Real peers the tests drive: an independent gRPC client (Python grpcio + protoc), Prometheus (promtool and the
# server), sipp and Kamailio, PostgreSQL for cluster mode, Chromium and CJK fonts for the wallboard; afl++ for the fuzzing. Installed only when missing, so a second run is quick.
packages=(python3-grpcio python3-protobuf protobuf-compiler prometheus sip-tester kamailio afl++ postgresql chromium fonts-noto-cjk)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi || echo "warning: could not install ${missing[*]}; tests that need them will fail"
fi

log "build"
dotnet build Acd.sln -c Release -nologo -v quiet > "$results/build.log" 2>&1
status=$?
tail -20 "$results/build.log"
if [ "$status" -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

for project in tests/*/; do
  name=$(basename "$project")
  [ -f "$project/$name.csproj" ] || continue
  log "$name"
  dotnet test "$project" -c Release --no-build -nologo --logger "trx;LogFileName=$results/$name.trx" 2>&1 | tail -30
  trx="$results/$name.trx"
  if [ -f "$trx" ]; then
    p=$(grep -o '<Counters [^>]*' "$trx" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
    f=$(grep -o '<Counters [^>]*' "$trx" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
  else
    echo "$name produced no results"
    failed=$((failed + 1))
  fi
done

# Benchmarks must keep running: one quick pass of every benchmark (BenchmarkDotNet's dry job).
log "benchmark smoke run (--job dry)"
if dotnet run -c Release --no-build --project bench/Acd.Benchmarks -- --filter '*' --job dry --artifacts "$results/bdn" > "$results/bench.log" 2>&1 \
   && ! grep -q 'Benchmarks with issues' "$results/bench.log"; then
  grep -E '^\|' "$results/bench.log" || true
  passed=$((passed + 1))
else
  tail -40 "$results/bench.log"
  failed=$((failed + 1))
fi

# Fuzzing (fuzz/README.md): each target's planted-fault proof must find its fault, and a short clean campaign of each
# must find nothing. Each run counts as one test.
log "fuzzing (fuzz/ci.sh)"
dotnet tool restore > /dev/null 2>&1
fuzz/ci.sh 20 240 > "$results/fuzz.log" 2>&1
cat "$results/fuzz.log"
fp=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$results/fuzz.log")
ff=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$results/fuzz.log")
passed=$((passed + ${fp:-0}))
failed=$((failed + ${ff:-1}))

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
