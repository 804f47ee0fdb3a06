#!/usr/bin/env bash
# One set-up for `make run`, `make test` and `.ci/run`.
#
#   scripts/setup.sh venv       the virtualenv in .venv: every dependency from requirements.lock, each
#                               file checked against its sha256 (--require-hashes), then the project
#   scripts/setup.sh services   the Debian packages the tests need, and a running dockerd
#   scripts/setup.sh all        both
#
# Every step is idempotent: a second run only checks.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

DEBIAN_PACKAGES=(docker.io socat nginx-light docker-registry apache2-utils chromium debootstrap wrk prometheus postgresql)
# Each package and the command that shows it is installed. The PostgreSQL server's programs are not on
# PATH: Debian puts them under /usr/lib/postgresql/<major>/bin (a path pattern is checked as a file).
declare -A PACKAGE_COMMAND=(
    [docker.io]=dockerd [socat]=socat [nginx-light]=nginx [docker-registry]=docker-registry
    [apache2-utils]=htpasswd [chromium]=chromium [debootstrap]=debootstrap [wrk]=wrk
    [prometheus]=promtool [postgresql]='/usr/lib/postgresql/*/bin/initdb'
)

log() { printf '[setup] %s\n' "$*" >&2; }

# Whether a package's command (a name on PATH, or a path pattern) is there.
is_installed() {
    local probe="$1"
    if [[ "$probe" == /* ]]; then
        compgen -G "$probe" >/dev/null
    else
        command -v "$probe" >/dev/null 2>&1
    fi
}

setup_venv() {
    local stamp="$VENV/.installed"
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating the virtualenv in .venv"
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the declared dependencies changed.
    local want
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    # requirements.lock (made by `make lock` from constraints.txt) pins every package, pip and the
    # build backend included, with the sha256 of each file PyPI serves: pip refuses any other file.
    log "installing the hashed lock (requirements.lock), then the project without dependencies"
    "$VENV/bin/python" -m pip install --quiet --require-hashes --only-binary :all: -r "$ROOT/requirements.lock"
    # The project's own build uses the setuptools just installed from the lock (no isolated build
    # environment, which would fetch an unhashed setuptools), and pulls in nothing else.
    "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
    echo "$want" > "$stamp"
}

setup_packages() {
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        is_installed "${PACKAGE_COMMAND[$pkg]}" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -ne 0 ]]; then
        log "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The distribution starts the registry on :5000, prometheus on :9090 (only its promtool is used) and a
    # PostgreSQL cluster on :5432; tests run their own registry and a throwaway cluster
    # (tests/support/postgres.py).
    if command -v systemctl >/dev/null 2>&1; then
        for unit in docker-registry prometheus prometheus-node-exporter postgresql; do
            systemctl disable --now "$unit" >/dev/null 2>&1 || true
        done
    fi
}

setup_dockerd() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        log "no Docker engine answers and this user cannot start dockerd; start it, then retry"
        exit 1
    fi
    log "starting dockerd"
    mkdir -p /var/log
    nohup dockerd > /var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then
            log "dockerd is up"
            return 0
        fi
        sleep 1
    done
    log "dockerd did not answer within 60 s; its log:"
    tail -n 30 /var/log/dockerd.log >&2
    exit 1
}

case "${1:-all}" in
    venv) setup_venv ;;
    services) setup_packages; setup_dockerd ;;
    all) setup_packages; setup_dockerd; setup_venv ;;
    *) echo "usage: $0 [venv|services|all]" >&2; exit 2 ;;
esac
