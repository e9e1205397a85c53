#!/bin/sh
# The compose gateway: nginx with mutual TLS, fed by `certsvc gateway-agent`.
# Waits for the token and chain that the certsvc container leaves in /shared, writes the
# nginx config once, starts nginx as a private instance and keeps its feed fresh.
set -eu
dir=/srv/gateway
url=${CERTSVC_URL:-http://certsvc:8080}
while [ ! -s /shared/gateway.token ] || [ ! -s /shared/chain.pem ]; do sleep 1; done
cp /shared/chain.pem "$dir/chain.pem"
if [ ! -s "$dir/server.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=${GATEWAY_SERVER_NAME:-localhost}" \
    -keyout "$dir/server.key" -out "$dir/server.pem" 2>/dev/null
fi
certsvc gateway-config nginx --dir "$dir" --listen 0.0.0.0:8443 --allowlist map \
  --certsvc-url "$url" --upstream "${GATEWAY_UPSTREAM:-$url}" \
  --token-file /shared/gateway.token > "$dir/nginx.conf"
certsvc gateway-agent --nginx "$dir" --certsvc-url "$url" --token-file /shared/gateway.token --once || true
nginx -p "$dir" -c "$dir/nginx.conf"
exec certsvc gateway-agent --nginx "$dir" --certsvc-url "$url" \
  --token-file /shared/gateway.token --interval "${GATEWAY_POLL_SECONDS:-30}"
