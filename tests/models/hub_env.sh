# hub_env.sh - starting and stopping hub_server.py from a test script (sourced, not run).
# Owns: the server process, its repositories, and the variables the tests read (HUB_URL, HUB_STATE, HUB_PID).
# shellcheck shell=bash

# hub_start PYTHON HUB_SERVER_PY MODEL_DIR STATE_DIR [SERVER_OPTION...]: serves MODEL_DIR as the four official repositories
# (hustvl/vitmatte-{small,base}-{composition-1k,distinctions-646}; ViTMatte-S at its real pinned commit, so the
# pinned hash applies, which the tiny model fails when the server sends no X-Linked-Etag) and as tester/tiny; its
# config.json alone as tester/no-weights (a repository without model.safetensors).
# Sets HUB_URL (http://127.0.0.1:PORT), HUB_STATE (mode file, requests.log) and HUB_PID; returns 1 with a message
# when the server does not come up.
hub_start() {
  local python=$1 server=$2 model=$3 state=$4 r
  shift 4
  local args=(--state "$state" --commit hustvl/vitmatte-small-composition-1k=6a58ad7646403c1df626fbd746900aec7361ea1d "$@")
  for r in hustvl/vitmatte-small-composition-1k hustvl/vitmatte-base-composition-1k \
           hustvl/vitmatte-small-distinctions-646 hustvl/vitmatte-base-distinctions-646 tester/tiny; do
    args+=(--repo "$r=$model")
  done
  mkdir -p "$state/no-weights" && rm -f "$state/port" && cp "$model/config.json" "$state/no-weights/" || return 1
  args+=(--repo "tester/no-weights=$state/no-weights")
  "$python" "$server" "${args[@]}" 2>"$state/server.log" &
  HUB_PID=$!
  for _ in $(seq 200); do
    [ -s "$state/port" ] && break
    kill -0 "$HUB_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$state/port" ]; then
    echo "hub_server.py did not start: $(cat "$state/server.log")" >&2
    return 1
  fi
  local scheme=http
  [[ " $* " == *" --tls "* ]] && scheme=https
  HUB_URL="$scheme://127.0.0.1:$(cat "$state/port")"
  HUB_STATE=$state
  export HUB_URL HUB_STATE
}

hub_stop() {
  if [ -n "${HUB_PID:-}" ]; then
    kill "$HUB_PID" 2>/dev/null
    wait "$HUB_PID" 2>/dev/null
  fi
  HUB_PID=
}

# hub_mode MODE: the server's behaviour from the next request on (see hub_server.py); re-arms "once" modes.
hub_mode() { echo "$1 $RANDOM$RANDOM" >"$HUB_STATE/mode"; }
