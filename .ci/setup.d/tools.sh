#!/usr/bin/env bash
# GNU time: the memory-bound test of lmod-parse and the benchmarks read peak RSS from it.
set -euo pipefail
if [ ! -x /usr/bin/time ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
