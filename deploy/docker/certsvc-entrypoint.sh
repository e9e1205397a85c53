#!/bin/sh
# certsvc's container entry point: migrate (safe to repeat), then run the given command.
# The first `serve` also leaves a gateway token and the CA chain in the shared volume for
# the compose gateway (a real deployment hands the token over by its own secret store).
set -eu
certsvc init
if [ "${1:-}" = "serve" ] && [ -n "${CERTSVC_COMPOSE_GATEWAY_TOKEN:-}" ]; then
  token_file="$CERTSVC_COMPOSE_GATEWAY_TOKEN"
  if [ ! -s "$token_file" ]; then
    umask 077
    certsvc token create --role gateway --name compose-gateway | tail -n 1 > "$token_file.tmp"
    mv "$token_file.tmp" "$token_file"
  fi
  certsvc ca show --pem > "$(dirname "$token_file")/chain.pem.tmp"
  mv "$(dirname "$token_file")/chain.pem.tmp" "$(dirname "$token_file")/chain.pem"
fi
exec certsvc "$@"
