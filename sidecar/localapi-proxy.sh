#!/bin/sh
# The LocalAPI proxy: TCP on LISTEN_ADDRESS:LISTEN_PORT -> tailscaled's unix socket at TS_SOCKET.
#
# Run it as an unprivileged uid: tailscaled then grants read access only (status, whois) and refuses
# every write (prefs, logout, up), so nothing that reaches this port can change the node.
set -eu

TS_SOCKET="${TS_SOCKET:-/var/run/tailscale/tailscaled.sock}"
LISTEN_ADDRESS="${LISTEN_ADDRESS:-0.0.0.0}"
LISTEN_PORT="${LISTEN_PORT:-8765}"
MAX_CONNECTIONS="${MAX_CONNECTIONS:-32}"

if [ "$(id -u)" = "0" ]; then
    echo "localapi-proxy: refusing to run as root: tailscaled would grant write access" >&2
    exit 64
fi

exec socat -d \
    "TCP-LISTEN:${LISTEN_PORT},bind=${LISTEN_ADDRESS},reuseaddr,fork,max-children=${MAX_CONNECTIONS}" \
    "UNIX-CONNECT:${TS_SOCKET}"
