#!/usr/bin/env bash
# Packages the Slurm tests drive for real: Debian's Slurm (slurmctld, slurmd, the client commands),
# slurmdbd and munge. Starts no daemon: test/helpers/slurm.ts runs its own private ones on private
# ports. Idempotent: installs only what is missing, `apt-get update` at most once.
set -euo pipefail
# shellcheck source=../lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"

missing=()
[ -x /usr/sbin/slurmctld ] || missing+=(slurmctld)
[ -x /usr/sbin/slurmd ] || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 && command -v sacct >/dev/null 2>&1 && command -v sacctmgr >/dev/null 2>&1 || missing+=(slurm-client)
[ -x /usr/sbin/slurmdbd ] || missing+=(slurmdbd)
[ -x /usr/sbin/munged ] || missing+=(munge)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
apt_install slurm.sh "${missing[@]}"

# Debian ships no init scripts for the Slurm daemons, only systemd units, and policy-rc.d may forbid starting
# services anyway; but where systemd runs, the postinst scripts start Debian's own daemons on the default ports
# 6817-6819. Stop them so that they never meet the tests' private ones. munged may stay: the harness uses it.
for daemon in slurmdbd slurmctld slurmd; do
  if pidof "$daemon" >/dev/null 2>&1; then
    echo "setup.d/slurm.sh: stopping the $daemon the package started"
    if [ -d /run/systemd/system ]; then $sudo systemctl disable --now "$daemon" || true; fi
    $sudo start-stop-daemon --stop --oknodo --retry 10 --name "$daemon" || true
  fi
done
