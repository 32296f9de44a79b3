#!/usr/bin/env bash
# Install what FleetEdge needs on a fresh machine: Debian's Java 17, Maven, Mosquitto, Go, tc,
# PostgreSQL and Chromium when missing, a Python 3.11 virtualenv with the project, and the Kafka jars from
# Maven Central. Idempotent:
# a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "need Debian packages $*: run as root or install them first" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# What the steps below need is installed first; what only the fleet and the tests need is
# installed beside those steps (apt's downloads overlap pip's and Maven's), and waited for at
# the end.
needed=()
later=()
command -v java >/dev/null 2>&1 || needed+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || needed+=(maven)
# The link emulator: Toxiproxy is built once with Go; tc (iproute2) shapes the link's bandwidth.
command -v go >/dev/null 2>&1 || needed+=(golang-go)
command -v tc >/dev/null 2>&1 || [ -x /usr/sbin/tc ] || later+=(iproute2)
# The vessel's MQTT broker for real devices (fleet ingest mqtt, and its tests).
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || later+=(mosquitto)
# The read models' second database (the tests start a private server of their own).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || later+=(postgresql)
# The dashboard's browser tests drive Debian's headless Chromium (never a downloaded build).
[ -x /usr/bin/chromium ] || later+=(chromium)
if [ ${#needed[@]} -gt 0 ]; then
  echo "installing ${needed[*]} ${later[*]}"
  apt_install "${needed[@]}" "${later[@]}"
  later=()
fi
apt_pid=""
apt_log=""
finish_apt() {
  # Never leave apt half done behind us: a failed step still waits for it.
  if [ -n "$apt_pid" ]; then
    local pid=$apt_pid
    apt_pid=""
    if ! wait "$pid"; then
      echo "installing ${later[*]} failed:" >&2
      cat "$apt_log" >&2
      return 1
    fi
  fi
}
trap finish_apt EXIT
if [ ${#later[@]} -gt 0 ]; then
  echo "installing ${later[*]} (beside the steps below)"
  apt_log=$(mktemp)
  (apt_install "${later[@]}") >"$apt_log" 2>&1 &
  apt_pid=$!
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing the Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

.venv/bin/fleet runtime fetch
finish_apt
