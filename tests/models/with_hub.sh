#!/usr/bin/env bash
# with_hub.sh - runs a command while hub_server.py serves a model folder in the Hugging Face hub's layout on
# 127.0.0.1 (hub_env.sh says which repositories). Owns: the command's environment and cleaning up after it.
#
# Usage: with_hub.sh PYTHON HUB_SERVER_PY MODEL_DIR -- COMMAND [ARG...]
# The command gets HUB_URL and HUB_STATE; proxy variables, HF_ENDPOINT and HF_TOKEN are unset, so nothing leaves
# the machine.
set -u
python=$1 server=$2 model=$3
shift 3
[ "${1:-}" = -- ] && shift
# shellcheck source=hub_env.sh
. "$(dirname "$0")/hub_env.sh"
state=$(mktemp -d /tmp/vitmatte-hub-XXXXXX) || exit 1
trap 'hub_stop; rm -rf "$state"' EXIT
hub_start "$python" "$server" "$model" "$state" || { echo "FAIL the test hub did not start"; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY HF_ENDPOINT HF_TOKEN
"$@"
