#!/usr/bin/env bash
# Packages the Galera tests drive for real: Debian's galera-4 (libgalera_smm.so) beside the machine's mariadb-server
# 10.11, rsync for the state transfers (wsrep_sst_rsync), and ss (iproute2) or lsof, which that script needs to see its
# rsync daemon listen. Starts nothing: test/helpers/galera.ts runs its own private nodes on private ports and folders.
# mariadb-server itself is the machine's (.ci/run starts it); installing it here would start a second system server.
# Idempotent: installs only what is missing, `apt-get update` at most once.
set -euo pipefail
# shellcheck source=../lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"

missing=()
[ -e /usr/lib/galera/libgalera_smm.so ] || [ -e /usr/lib/libgalera_smm.so ] || missing+=(galera-4)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v ss >/dev/null 2>&1 || command -v lsof >/dev/null 2>&1 || missing+=(iproute2)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
apt_install galera.sh "${missing[@]}"
