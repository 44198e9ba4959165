# Sourced by the load scripts: child processes started in a temporary folder, stopped (SIGTERM,
# then waited for) and the folder removed on exit, and the port a child printed.
#   start_dir=$(pwd); source scripts/lib/children.sh; cd "$work"; … & pids+=($!)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# The port in a child's "listening on http://127.0.0.1:PORT" line (30 s at most).
port_of() {
  for _ in $(seq 1 300); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" 2>/dev/null | head -1 | sed 's/.*://')
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "no port in $1: $(cat "$1")" >&2
  return 1
}
