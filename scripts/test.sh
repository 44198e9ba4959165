#!/usr/bin/env bash
# The whole test suite: set up, build with zero warnings in the project's own code, run every
# test. Tests that need ../shared/vectors skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift build --build-tests 2>&1 | tee "$log" | grep -E "error:|Compiling|Build" ; then :; fi
if grep -q "error:" "$log"; then
  echo "build failed" >&2
  exit 1
fi
# Warnings are bugs: fail on any warning in our own sources (dependencies are not ours to fix).
if grep -E "^$PWD/(Sources|Benchmarks|Tests)/.*warning:" "$log" | sort -u | grep . >&2; then
  echo "error: the build has warnings (listed above)" >&2
  exit 1
fi
swift test --skip-build 2>&1
