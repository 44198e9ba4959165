#!/usr/bin/env bash
# The main job: set up, then run the benchmark suite (release build). Extra arguments go to
# rewrap-bench, e.g. scripts/bench.sh --quick, or scripts/bench.sh --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
exec swift run -c release rewrap-bench "$@"
