#!/usr/bin/env bash
# Screenshots of a lesson in the window, under Xvfb: the list, each kind of step at the desk, and
# the same lesson as a talk in presenter mode — to look at before changing the Lessons view.
# Usage: scripts/lesson-screenshots.sh [LESSON] [OUT_DIR]   (default: lesson 1, target/screenshots/lessons)
set -euo pipefail
cd "$(dirname "$0")/.."
lesson=${1:-1}
out=${2:-target/screenshots/lessons}
mkdir -p "$out"
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || [ ! -x /usr/bin/import ]; then
  apt-get update && apt-get install -y xvfb x11-apps imagemagick mesa-vulkan-drivers xdotool
fi
cargo build --release --quiet

display=:98
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp &
xvfb=$!
state=$(mktemp -d)
cleanup() { kill "${app:-}" "$xvfb" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
sleep 1
mkdir -p "$state/runtime" && chmod 700 "$state/runtime"
env -u WAYLAND_DISPLAY DISPLAY="$display" XDG_RUNTIME_DIR="$state/runtime" XDG_DATA_HOME="$state/data" \
  HOME="$state" LIBGL_ALWAYS_SOFTWARE=1 target/release/serversim gui --lesson "$lesson" &
app=$!
sleep 3
export DISPLAY="$display"
win=$(xdotool search --name '^serversim$' | head -1)
xdotool windowsize "$win" 1600 1000 windowmove "$win" 0 0
xdotool mousemove 800 990 click 1 windowfocus --sync "$win"
sleep 2
shot() { sleep "${2:-2}"; /usr/bin/import -window root "$out/$1.png"; }
# Desk: every step in turn (Page Down), one screenshot per step.
steps=${STEPS:-14}
for i in $(seq 1 "$steps"); do
  shot "desk-$(printf %02d "$i")" 2
  xdotool key Next
done
# Presenter mode, back at the first steps (Page Up), then forward with the arrow keys.
xdotool key p
for i in $(seq 1 "$steps"); do xdotool key Prior; done
for i in $(seq 1 "$steps"); do
  shot "presenter-$(printf %02d "$i")" 2
  xdotool key Right
done
xdotool key b
shot presenter-blank 1
