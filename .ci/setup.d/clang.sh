#!/usr/bin/env bash
# clang and wasm-ld: a test rebuilds lmod-parse's WebAssembly from canonical.c and compares.
set -euo pipefail
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y clang lld >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y clang lld >/dev/null; }
fi
