#!/usr/bin/env bash
# Run the serversim window under Xvfb for a few seconds and save PNG screenshots of the main view,
# presenter mode and the architecture pictures, to look at before changing or releasing the GUI.
# Usage: scripts/screenshot.sh [OUT_DIR]   (default target/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/screenshots}
mkdir -p "$out"

. scripts/lib/xvfb.sh
xvfb_tools
cargo build --release --quiet
xvfb_start :99
app_start
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
app_start gui "$state/typo.toml"
sleep 2
/usr/bin/import -window root "$out/error.png"
echo "screenshots in $out: $(ls "$out" | tr '\n' ' ')"
