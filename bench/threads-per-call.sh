#!/usr/bin/env bash
# CPU and thread wake-ups per call, by thread (issue 18, ninth step): starts the daemon (Release) on
# bench/configs/max-throughput.json with a fresh data directory, warms it up with sipp over one TCP connection at the
# rate (30 s, ACD_WARMUP_SECONDS: the JIT's tiering must be done), then runs sipp for SECONDS and prints, for each thread name, its CPU (utime + stime from /proc/PID/task/*/stat)
# and its voluntary and involuntary context switches (/proc/PID/task/*/status) divided by the calls.
#   bench/threads-per-call.sh [rate] [seconds]        default: 1000 20
#   ACD_OPTS="--Acd:Journal:Enabled=false" bench/threads-per-call.sh …   extra arguments for the daemon
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-1000}"; seconds="${2:-20}"; warm="${ACD_WARMUP_SECONDS:-30}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Acd.Host -c Release -nologo -v quiet >/dev/null
# shellcheck source=bench/daemon-lib.sh
. bench/daemon-lib.sh
work=$(mktemp -d /tmp/acd-threads-XXXXXX)
sip=$(free_port); grpc=$(free_port); http=$(free_port)
# shellcheck disable=SC2086
dotnet src/Acd.Host/bin/Release/net10.0/acd.dll --config bench/configs/max-throughput.json --data "$work/data" \
  --sip "127.0.0.1:$sip" --grpc "127.0.0.1:$grpc" --http "127.0.0.1:$http" --Logging:LogLevel:Default=Warning ${ACD_OPTS:-} >"$work/acd.log" 2>&1 &
acd=$!
trap 'kill $acd 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
wait_ready "$http" "$acd" "$work/acd.log"
drive() {
  sipp -sf sipp/caller.xml -s 10086 -t t1 -r "$rate" -m $((rate * $1)) -d 0 -recv_timeout 5000 -timeout $(($1 * 3 + 30))s \
    -nostdin -i 127.0.0.1 -p "$(free_port)" 127.0.0.1:"$sip" >/dev/null 2>&1 || true
}
# One line a thread: name|ticks|tid|voluntary|involuntary (threads that end meanwhile are skipped).
snapshot() {
  for t in /proc/$acd/task/*; do
    echo "$(cat "$t/comm")|$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')|${t##*/}|$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v "|" n}' "$t/status")"
  done 2>/dev/null || true
}
drive "$warm"
snapshot >"$work/before"
drive "$seconds"
snapshot >"$work/after"
/usr/bin/python3 - "$work/before" "$work/after" $((rate * seconds)) "$(getconf CLK_TCK)" <<'PY'
import collections, sys
def load(path):
    threads = {}
    for line in open(path):
        f = line.strip().split('|')
        if len(f) == 5 and '' not in f:
            threads[f[2]] = (f[0], int(f[1]), int(f[3]), int(f[4]))
    return threads
before, after, calls, tck = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu, vol, invol, count = (collections.Counter() for _ in range(4))
for tid, (name, ticks, v, n) in after.items():
    b = before.get(tid, (name, 0, 0, 0))
    cpu[name] += ticks - b[1]; vol[name] += v - b[2]; invol[name] += n - b[3]; count[name] += 1
print(f"{'thread':20s} {'threads':>7s} {'µs CPU a call':>14s} {'voluntary a call':>17s} {'involuntary a call':>19s}")
for name, ticks in cpu.most_common():
    if ticks or vol[name]:
        print(f"{name:20s} {count[name]:7d} {ticks / tck / calls * 1e6:14.1f} {vol[name] / calls:17.2f} {invol[name] / calls:19.2f}")
print(f"{'all':20s} {sum(count.values()):7d} {sum(cpu.values()) / tck / calls * 1e6:14.1f} {sum(vol.values()) / calls:17.2f} {sum(invol.values()) / calls:19.2f}")
PY
