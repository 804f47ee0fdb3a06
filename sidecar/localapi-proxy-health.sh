#!/bin/sh
# Healthy when the whole chain answers: this proxy, the shared socket and tailscaled's LocalAPI.
set -eu

LISTEN_PORT="${LISTEN_PORT:-8765}"

printf 'GET /localapi/v0/status?peers=false HTTP/1.0\r\nHost: local-tailscaled.sock\r\n\r\n' \
    | socat -t 3 -T 5 - "TCP:127.0.0.1:${LISTEN_PORT}" \
    | head -n 1 \
    | grep -q '^HTTP/1\.[01] 200'
