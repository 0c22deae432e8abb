#!/usr/bin/env bash
# Shared by the screenshot scripts: install what they need, start Xvfb, and start serversim in a
# window on it with a throw-away home (so no saved settings leak in). Source it, then call
#   xvfb_start DISPLAY        # sets $xvfb, $state; stops both on exit
#   app_start ARGS...         # starts target/release/serversim ARGS on it, sets $app and $win
xvfb_tools() {
  if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || [ ! -x /usr/bin/import ]; then
    apt-get update && apt-get install -y xvfb x11-apps imagemagick mesa-vulkan-drivers xdotool
  fi
}

xvfb_start() {
  display=$1
  Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp &
  xvfb=$!
  state=$(mktemp -d)
  trap 'kill "${app:-}" "$xvfb" 2>/dev/null || true; rm -rf "$state"' EXIT
  sleep 1
  mkdir -p "$state/runtime" && chmod 700 "$state/runtime"
  export DISPLAY="$display"
}

app_start() {
  env -u WAYLAND_DISPLAY XDG_RUNTIME_DIR="$state/runtime" XDG_DATA_HOME="$state/data" \
    HOME="$state" LIBGL_ALWAYS_SOFTWARE=1 target/release/serversim "$@" &
  app=$!
  sleep 3
  win=$(xdotool search --name '^serversim$' | head -1)
  xdotool windowsize "$win" 1600 1000 windowmove "$win" 0 0
}
