#!/usr/bin/env bash
# The KMS path through the server under open-loop load: `rewrap kms-sim` (realistic latency and
# faults, an ECC quota of QUOTA operations/s), the registry with an opentdf.io/aws provider and a
# REMOTE P-256 key in the simulated KMS, `rewrap serve --db` with dev-idp authentication, then
# `rewrap-bench load --find-max` from below to above the quota (p99 SLO 250 ms: the simulated
# KMS alone has a 50 ms p99; error budget 1 %: the realistic profile injects SLA-level faults):
# the knee should sit at the
# quota, with throttling absorbed by the KMS client and no wrong DEK. Prints the search; extra
# arguments go to `rewrap-bench load` (e.g. --out knee.json).
#   QUOTA=300 bash scripts/load-kms.sh [--out results/load/kms.json]
set -euo pipefail
cd "$(dirname "$0")/.."
quota=${QUOTA:-300}
swift build -c release --product rewrap
swift build -c release --product rewrap-bench
bin=$(swift build -c release --show-bin-path)
source scripts/lib/children.sh
out=$(cd "$OLDPWD" 2>/dev/null && pwd || pwd)
cd "$work"
export AWS_ACCESS_KEY_ID=AKIDLOADTEST AWS_SECRET_ACCESS_KEY=load-test-secret REWRAP_ROOT_KEY=$(openssl rand -hex 32)
export REWRAP_DB="$work/keys.sqlite"
"$bin/rewrap" keys generate --alg ec:secp256r1 --kid kms-ec --out kas >/dev/null
"$bin/rewrap" kms-sim --port 0 --profile realistic --ecc-quota "$quota" --import kas/kms-ec-private.pem --key-id aws-ec >kms.log 2>&1 &
pids+=($!)
kms=$(port_of kms.log)
"$bin/rewrap" providers add --name aws --manager opentdf.io/aws --config "{\"endpoint\":\"http://127.0.0.1:$kms\",\"region\":\"us-east-1\"}" >/dev/null
"$bin/rewrap" keys import --kid kms-ec --mode remote --provider aws --remote-key-id aws-ec --public kas/kms-ec-public.pem >/dev/null
"$bin/rewrap" dev-idp --port 0 --audience http://localhost:8080 >idp.log 2>&1 &
pids+=($!)
idp=$(port_of idp.log)
"$bin/rewrap" serve --db "$REWRAP_DB" --port 0 --issuer "http://127.0.0.1:$idp" --audience http://localhost:8080 \
  --require-dpop --log-level warning >serve.log 2>&1 &
pids+=($!)
kas=$(port_of serve.log)
cd "$out"
"$bin/rewrap-bench" load --url "http://127.0.0.1:$kas" --token-url "http://127.0.0.1:$idp/token" --algorithms ec:secp256r1 \
  --find-max --rate $((quota / 4)) --duration 5 --slo-p99 250ms --error-budget 0.01 --progress 0 \
  --server-pid "${pids[2]}" "$@"
# The simulated KMS's own count of what it throttled (the client absorbed it: no failed request).
echo "kms-sim counters: $(curl -s "http://127.0.0.1:$kms/admin/counters" | head -c 600)"
