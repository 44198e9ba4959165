#!/usr/bin/env bash
# Installs the Debian packages the project needs (or prints the exact command when not root).
# Idempotent: does nothing when everything is present.
set -euo pipefail

packages=(libssl-dev libjemalloc-dev libsqlite3-dev zlib1g-dev pkg-config curl openssl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift toolchain (6.1 or newer) is not on PATH; install it from swift.org first." >&2
  exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
  command="apt-get update && apt-get install -y ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive bash -c "$command" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "setup: installing ${missing[*]} with sudo" >&2
    sudo DEBIAN_FRONTEND=noninteractive bash -c "$command" >/dev/null
  else
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "run as root:  $command" >&2
    exit 1
  fi
fi
