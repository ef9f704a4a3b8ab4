#!/usr/bin/env bash
# Packages the contrib tests drive for real: Debian's Lmod (with lua-posix), rsyslog, logrotate,
# and util-linux's logger. Idempotent: installs only what is missing, `apt-get update` at most once.
set -euo pipefail
# shellcheck source=../lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"

missing=()
[ -r /usr/share/lmod/lmod/init/bash ] || missing+=(lmod)
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || missing+=(logrotate)
command -v logger >/dev/null 2>&1 || missing+=(bsdutils)
dpkg-query -W -f='${Status}' lua-posix 2>/dev/null | grep -q 'ok installed' || missing+=(lua-posix)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
apt_install lmod.sh "${missing[@]}"
