#!/usr/bin/env bash
# Regenerates Sources/RewrapProto from Protos/. Not part of the build: the generated code is
# committed, because building swift-protobuf's plugin takes ~10 minutes (DEVELOPERS.md). Needs
# protoc (Debian: protobuf-compiler) and builds protoc-gen-swift from the package mirror at the
# version Package.swift names, outside this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.39.0
tools=${PROTOC_GEN_SWIFT_DIR:-${TMPDIR:-/tmp}/rewrap-protoc-gen-swift-$version}
command -v protoc >/dev/null || { echo "protoc is missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
if [ ! -x "$tools/.build/release/protoc-gen-swift" ]; then
  rm -rf "$tools"
  git clone -q https://github.com/apple/swift-protobuf "$tools"
  git -C "$tools" checkout -q "$version"
  swift build -c release --package-path "$tools" --product protoc-gen-swift
fi
out=Sources/RewrapProto
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$tools/.build/release/protoc-gen-swift" \
  --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  -I Protos Protos/kas/kas.proto Protos/grpc/health/v1/health.proto
echo "generated: $(ls "$out"/*.pb.swift | tr '\n' ' ')"
