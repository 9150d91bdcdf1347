#!/usr/bin/env bash
# with_hub.sh - runs a command while hub_server.py serves a model folder in the Hugging Face hub's layout on
# 127.0.0.1 (hub_env.sh says which repositories). Owns: the command's environment and cleaning up after it.
#
# Usage: with_hub.sh PYTHON HUB_SERVER_PY MODEL_DIR [--tls] -- COMMAND [ARG...]
# The command gets HUB_URL and HUB_STATE; proxy variables, HF_ENDPOINT, HF_TOKEN and the certificate variables are
# unset, so nothing leaves the machine. --tls: HTTPS with a certificate for 127.0.0.1 made here with openssl, whose
# file the command gets as HUB_CA.
set -u
python=$1 server=$2 model=$3
shift 3
tls=0
[ "${1:-}" = --tls ] && tls=1 && shift
[ "${1:-}" = -- ] && shift
# shellcheck source=hub_env.sh
. "$(dirname "$0")/hub_env.sh"
state=$(mktemp -d /tmp/vitmatte-hub-XXXXXX) || exit 1
trap 'hub_stop; rm -rf "$state"' EXIT
server_options=()
if [ $tls = 1 ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$state/key.pem" -out "$state/cert.pem" >"$state/openssl.log" 2>&1 ||
    { echo "FAIL openssl could not make a test certificate: $(cat "$state/openssl.log")"; exit 1; }
  server_options=(--tls "$state/cert.pem" "$state/key.pem")
  export HUB_CA=$state/cert.pem
fi
hub_start "$python" "$server" "$model" "$state" "${server_options[@]}" || { echo "FAIL the test hub did not start"; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY HF_ENDPOINT HF_TOKEN \
      CURL_CA_BUNDLE SSL_CERT_FILE
"$@"
