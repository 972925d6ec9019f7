# Shared by the bench scripts that start a daemon beside sipp (source it; bash).
# free_port: a free TCP port on 127.0.0.1.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_ready HTTP_PORT PID LOG: until the daemon answers /readyz; if it exits first, prints its log and fails.
wait_ready() {
  local http=$1 pid=$2 log=$3
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.5
  done
  echo "the daemon was not ready within 60 s" >&2; return 1
}
