# Sourced by the .ci/setup.d scripts: `apt_install SCRIPT PACKAGE...` installs Debian packages,
# running `apt-get update` only when the first try fails (a stale package list). Sets `sudo` for
# the script's own privileged steps after it.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

apt_install() {
  local script=$1
  shift
  echo "setup.d/$script: installing $*"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@"; then
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@"
  fi
}
