#!/usr/bin/env bash
# Debian's Chromium for the lmod-report HTML test (driven headless through playwright-core).
# Idempotent: does nothing when /usr/bin/chromium exists; `apt-get update` only if the install fails.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "setup.d/chromium.sh: installing chromium"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi
