#!/usr/bin/env bash
# with_hub.sh - runs a command while hub_server.py serves a model folder in the Hugging Face hub's layout on
# 127.0.0.1. Owns: starting the server, waiting for its port, the command's environment, stopping the server.
#
# Usage: with_hub.sh PYTHON HUB_SERVER_PY MODEL_DIR -- COMMAND [ARG...]
# MODEL_DIR is served as the four official repositories (hustvl/vitmatte-{small,base}-{composition-1k,
# distinctions-646}) and as tester/tiny; ViTMatte-S at its real pinned commit (so the pinned hash applies, and the
# tiny model must fail it when the server sends no X-Linked-Etag). The command gets HUB_URL (http://127.0.0.1:PORT) and HUB_STATE (the
# server's folder: the mode file, requests.log); proxy variables, HF_ENDPOINT and HF_TOKEN are unset, so nothing
# leaves the machine.
set -u
python=$1 server=$2 model=$3
shift 3
[ "${1:-}" = -- ] && shift
state=$(mktemp -d /tmp/vitmatte-hub-XXXXXX) || exit 1
repos=()
for r in hustvl/vitmatte-small-composition-1k hustvl/vitmatte-base-composition-1k \
         hustvl/vitmatte-small-distinctions-646 hustvl/vitmatte-base-distinctions-646 tester/tiny; do
  repos+=(--repo "$r=$model")
done
repos+=(--commit hustvl/vitmatte-small-composition-1k=6a58ad7646403c1df626fbd746900aec7361ea1d)
"$python" "$server" --state "$state" "${repos[@]}" 2>"$state/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 200); do
  [ -s "$state/port" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
[ -s "$state/port" ] || { echo "FAIL hub_server.py did not start: $(cat "$state/server.log")"; exit 1; }
export HUB_URL="http://127.0.0.1:$(cat "$state/port")" HUB_STATE=$state
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY HF_ENDPOINT HF_TOKEN
"$@"
