#!/usr/bin/env bash
# The short fuzzing of the test command (fuzz/README.md): for each target, the planted-fault proof (a build with
# faults compiled in, which the campaign must find within PLANTED seconds) and a clean campaign of CLEAN seconds
# that must find nothing. The proofs run beside the clean campaigns (one core each). One line per run, then
# "fuzz: N passed, N failed"; the exit code is the number of failures.
#
#   fuzz/ci.sh [CLEAN] [PLANTED]      defaults 20 and 120
set -uo pipefail
cd "$(dirname "$0")/.."
clean=${1:-20}
planted=${2:-120}
out=${FUZZ_OUT:-$(mktemp -d)}
targets=(sip journal snapshot config)

if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz: afl-fuzz is not installed (apt-get install afl++)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

# Both builds first (they would compete for the CPU with the campaigns otherwise).
FUZZ_OUT=$out fuzz/run.sh sip 0 >/dev/null 2>&1
FUZZ_OUT=$out fuzz/run.sh sip 0 --planted >/dev/null 2>&1

(for t in "${targets[@]}"; do FUZZ_OUT=$out fuzz/run.sh "$t" "$planted" --planted 2>/dev/null; echo "exit $?"; done) > "$out/planted.txt" &
proofs=$!
(for t in "${targets[@]}"; do FUZZ_OUT=$out fuzz/run.sh "$t" "$clean" 2>/dev/null; echo "exit $?"; done) > "$out/clean.txt"
wait "$proofs"

grep -v '^exit ' "$out/planted.txt" "$out/clean.txt" | sed 's/^[^:]*://'
passed=$(cat "$out/planted.txt" "$out/clean.txt" | grep -c '^exit 0$')
failed=$(cat "$out/planted.txt" "$out/clean.txt" | grep '^exit ' | grep -vc '^exit 0$')
echo "fuzz: $passed passed, $failed failed"
exit "$failed"
