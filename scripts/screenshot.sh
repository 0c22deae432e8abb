#!/usr/bin/env bash
# Run the serversim window under Xvfb for a few seconds and save PNG screenshots of the main view,
# presenter mode and the architecture pictures, to look at before changing or releasing the GUI.
# Usage: scripts/screenshot.sh [OUT_DIR]   (default target/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/screenshots}
mkdir -p "$out"

if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || [ ! -x /usr/bin/import ]; then
  apt-get update && apt-get install -y xvfb x11-apps imagemagick mesa-vulkan-drivers xdotool
fi
cargo build --release --quiet

display=:99
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp &
xvfb=$!
state=$(mktemp -d)
cleanup() { kill "${app:-}" "$xvfb" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
sleep 1
mkdir -p "$state/runtime" && chmod 700 "$state/runtime"
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$state/runtime" XDG_DATA_HOME="$state/data" \
  HOME="$state" LIBGL_ALWAYS_SOFTWARE=1 target/release/serversim &
app=$!
sleep 3
export DISPLAY="$display"
win=$(xdotool search --name '^serversim$' | head -1)
xdotool windowsize "$win" 1600 1000 windowmove "$win" 0 0
# No window manager under Xvfb: click an empty spot so the window has keyboard focus.
xdotool mousemove 1580 990 click 1 windowfocus --sync "$win"
sleep "${SHOT_DELAY:-10}"   # let the simulation run for a while

/usr/bin/import -window root "$out/main.png"
# The architecture pictures sit below the plots; crop that band for a closer look.
/usr/bin/convert "$out/main.png" -crop 1600x420+0+500 +repage "$out/pictures.png"

xdotool key p
sleep 4
/usr/bin/import -window root "$out/presenter.png"
xdotool key t
sleep 2
/usr/bin/import -window root "$out/presenter-light.png"
xdotool key t p h
sleep 1
/usr/bin/import -window root "$out/help.png"
xdotool key h 2
sleep 2
/usr/bin/import -window root "$out/latency.png"
xdotool key 3
sleep 1
# "Run sweep" is the first button in the sweep view.
xdotool mousemove 372 88 click 1
sleep "${SWEEP_DELAY:-25}"
/usr/bin/import -window root "$out/sweep.png"
xdotool key 1
kill "$app"
wait "$app" 2>/dev/null || true

# The error panel: open a scenario file with a typo.
printf '[load]\narrival = "poisson"\nrate_rps = 10.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = "threaded"\nthread = 4\n' > "$state/typo.toml"
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$state/runtime" XDG_DATA_HOME="$state/data" \
  HOME="$state" LIBGL_ALWAYS_SOFTWARE=1 target/release/serversim gui "$state/typo.toml" &
app=$!
sleep 3
win=$(xdotool search --name '^serversim$' | head -1)
xdotool windowsize "$win" 1600 1000 windowmove "$win" 0 0
sleep 2
/usr/bin/import -window root "$out/error.png"
echo "screenshots in $out: $(ls "$out" | tr '\n' ' ')"
