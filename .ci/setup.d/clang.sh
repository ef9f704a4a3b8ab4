#!/usr/bin/env bash
# clang 14 and wasm-ld 14 (Debian 12's): a test rebuilds the WebAssembly fast paths and compares bytes.
set -euo pipefail
if ! command -v clang-14 >/dev/null || ! command -v wasm-ld-14 >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y clang-14 lld-14 >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y clang-14 lld-14 >/dev/null; }
fi
