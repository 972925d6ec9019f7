#!/usr/bin/env bash
# CPU per call where a province's hotline runs (issue 18), side by side on the same machine in the same run: ACD on
# bench/configs/max-throughput.json (journal on, as shipped) against Kamailio as a bare stateless redirect
# (bench/kamailio/redirect.cfg), both driven by sipp over one TCP connection (-t t1) on the same flow: INVITE → 302 →
# ACK, BYE → 200. Each server is warmed up at the rate first (30 s, ACD_WARMUP_SECONDS: with 10 s the daemon's JIT was
# still tiering up through the measured run, 13-16 µs a call at 1,000 calls/s); its idle CPU is measured with no
# traffic and subtracted;
# CPU is utime + stime from /proc/PID/stat of the server's processes (Kamailio's children included).
#   bench/sipp-vs-kamailio.sh [rates] [seconds]        default: "1000 5000" 30
#   ACD_OPTS="--Acd:Journal:Enabled=false" bench/sipp-vs-kamailio.sh …   extra arguments for the daemon
# Prints, per rate, each server's CPU per call (µs) and ACD's over Kamailio's.
set -euo pipefail
cd "$(dirname "$0")/.."
rates="${1:-1000 5000}"; seconds="${2:-30}"; warm="${ACD_WARMUP_SECONDS:-30}"; idle_seconds=10
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Acd.Host -c Release -nologo -v quiet >/dev/null
# shellcheck source=bench/daemon-lib.sh
. bench/daemon-lib.sh
tck=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/acd-vs-kam-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# CPU ticks of a process and all its descendants.
ticks() {
  local all=("$1") i=0 t=0
  while [ $i -lt ${#all[@]} ]; do
    for c in $(cat /proc/"${all[$i]}"/task/*/children 2>/dev/null); do all+=("$c"); done
    i=$((i + 1))
  done
  for p in "${all[@]}"; do
    # fields after the command name (which may hold spaces): utime is the 12th, stime the 13th
    read -r -a f < <(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null || echo)
    [ ${#f[@]} -gt 13 ] && t=$((t + f[11] + f[12]))
  done
  echo $t
}

kport=$(free_port); aport=$(free_port); agrpc=$(free_port); ahttp=$(free_port)
kamailio -DD -E -f bench/kamailio/redirect.cfg -A "LISTEN_PORT=$kport" >"$work/kamailio.log" 2>&1 &
kam=$!; pids+=("$kam")
dotnet src/Acd.Host/bin/Release/net10.0/acd.dll --config bench/configs/max-throughput.json --data "$work/data" \
  --sip "127.0.0.1:$aport" --grpc "127.0.0.1:$agrpc" --http "127.0.0.1:$ahttp" --Logging:LogLevel:Default=Warning ${ACD_OPTS:-} >"$work/acd.log" 2>&1 &
acd=$!; pids+=("$acd")
wait_ready "$ahttp" "$acd" "$work/acd.log"

# sipp at RATE for SECONDS against PORT; prints the successful and failed call counts.
drive() {
  local port=$1 rate=$2 secs=$3 log="$work/sipp-$1-$2-$RANDOM"
  sipp -sf sipp/caller.xml -s 10086 -t t1 -r "$rate" -m $((rate * secs)) -d 0 -recv_timeout 5000 -timeout $((secs * 3 + 30))s \
    -nostdin -i 127.0.0.1 -p "$(free_port)" -trace_stat -stf "$log.csv" "127.0.0.1:$port" >"$log.out" 2>&1 || true
  /usr/bin/python3 - "$log.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
h, last = rows[0], rows[-1]
print(last[h.index('SuccessfulCall(C)')], last[h.index('FailedCall(C)')])
PY
}

idle() { # pid → ticks per second with no traffic
  local a b; a=$(ticks "$1"); sleep $idle_seconds; b=$(ticks "$1")
  /usr/bin/python3 -c "print(($b - $a) / $idle_seconds)"
}

printf '%-8s %-9s %10s %8s %12s %12s %14s\n' rate server calls failed "CPU s" "idle CPU s" "µs per call"
declare -A per
for rate in $rates; do
  for server in kamailio acd; do
    if [ $server = kamailio ]; then pid=$kam; port=$kport; else pid=$acd; port=$aport; fi
    drive "$port" "$rate" "$warm" >/dev/null
    idle_tps=$(idle "$pid")
    t0=$(ticks "$pid"); s0=$(date +%s.%N)
    read -r ok failed < <(drive "$port" "$rate" "$seconds")
    t1=$(ticks "$pid"); s1=$(date +%s.%N)
    read -r cpu idle_cpu us < <(/usr/bin/python3 -c "
el = $s1 - $s0; cpu = ($t1 - $t0) / $tck; idle = $idle_tps / $tck * el
print(f'{cpu:.2f} {idle:.2f} {(cpu - idle) / max(1, $ok) * 1e6:.1f}')")
    per[$rate,$server]=$us
    printf '%-8s %-9s %10s %8s %12s %12s %14s\n' "$rate" $server "$ok" "$failed" "$cpu" "$idle_cpu" "$us"
  done
  /usr/bin/python3 -c "print(f'  at $rate calls/s ACD spends {${per[$rate,acd]} / ${per[$rate,kamailio]}:.2f} × the CPU per call of Kamailio')"
done
