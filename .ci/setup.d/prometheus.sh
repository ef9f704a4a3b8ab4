#!/usr/bin/env bash
# Packages the OpenMetrics tests of `lmod-report --format openmetrics` drive for real: Debian's
# promtool (in `prometheus`) lints the output, and node_exporter's textfile collector scrapes it.
# The tests start their own node_exporter on a private loopback port, so Debian's daemons must not
# run: after an install this stops (and, under systemd, disables) them if the postinst started them.
# Idempotent: installs only what is missing, `apt-get update` at most once.
set -euo pipefail
# shellcheck source=../lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"

missing=()
command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/promtool ] || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || [ -x /usr/bin/prometheus-node-exporter ] || missing+=(prometheus-node-exporter)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
apt_install prometheus.sh "${missing[@]}"

# Debian's daemons (ports 9090 and 9100) run as user `prometheus`; the tests' own run as the caller,
# so matching on that user and the exact binary stops only Debian's.
for daemon in prometheus prometheus-node-exporter; do
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now "$daemon.service" >/dev/null 2>&1 || true
  fi
  if getent passwd prometheus >/dev/null 2>&1; then
    $sudo start-stop-daemon --stop --quiet --oknodo --retry=TERM/10/KILL/5 --user prometheus --exec "/usr/bin/$daemon" || true
  fi
done
