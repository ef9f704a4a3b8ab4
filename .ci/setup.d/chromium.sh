#!/usr/bin/env bash
# Debian's Chromium for the lmod-report HTML test (driven headless through playwright-core).
# Idempotent: does nothing when /usr/bin/chromium exists; `apt-get update` only if the install fails.
set -euo pipefail
# shellcheck source=../lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
apt_install chromium.sh chromium fonts-dejavu-core
