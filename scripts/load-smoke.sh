#!/usr/bin/env bash
# A short open-loop load on `rewrap serve` with real authentication, as a user would run it:
# `rewrap dev-idp` and `rewrap serve` (release builds, 127.0.0.1, free ports) in a temporary
# folder, then `rewrap-bench load` for a few seconds with thresholds (no wrong DEK, no failed
# request, p99 under a generous bound), then both stopped. Exits with rewrap-bench's status:
# 0, 1 (a threshold broke) or 2 (a wrong DEK or unexpected outcome). Used by .ci/run.
#   bash scripts/load-smoke.sh [extra rewrap-bench load options]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rewrap
swift build -c release --product rewrap-bench
bin=$(swift build -c release --show-bin-path)
source scripts/lib/children.sh
cd "$work"
"$bin/rewrap" keys generate --alg ec:secp256r1 --kid e1 --out kas >/dev/null
"$bin/rewrap" keys generate --alg rsa:2048 --kid r1 --out kas >/dev/null
"$bin/rewrap" dev-idp --port 0 --audience http://localhost:8080 >idp.log 2>&1 &
pids+=($!)
idp=$(port_of idp.log)
"$bin/rewrap" serve --keyring kas/keyring.yaml --port 0 --issuer "http://127.0.0.1:$idp" --audience http://localhost:8080 \
  --require-dpop --log-level warning >serve.log 2>&1 &
pids+=($!)
kas=$(port_of serve.log)
"$bin/rewrap-bench" load --url "http://127.0.0.1:$kas" --token-url "http://127.0.0.1:$idp/token" \
  --algorithms ec:secp256r1,rsa:2048 --batch 4 --bad-fraction 0.1 --rate 100 --duration 5 --progress 0 \
  --server-pid "${pids[1]}" --threshold 'wrong_deks==0' --threshold 'unexpected==0' --threshold 'error_rate<=0' \
  --threshold 'p99<2s' "$@"
