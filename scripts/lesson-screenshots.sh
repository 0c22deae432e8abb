#!/usr/bin/env bash
# Screenshots of a lesson in the window, under Xvfb: each step at the desk, then the same lesson
# as a talk in presenter mode and the blanked screen — to look at before changing the Lessons view.
# Usage: scripts/lesson-screenshots.sh [LESSON] [OUT_DIR]   (default: lesson 1, target/screenshots/lessons)
# STEPS=N limits the steps shot (default 14).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/xvfb.sh
lesson=${1:-1}
out=${2:-target/screenshots/lessons}
mkdir -p "$out"
xvfb_tools
cargo build --release --quiet
xvfb_start :98
app_start gui --lesson "$lesson"
# No window manager under Xvfb: click an empty spot so the window has keyboard focus.
xdotool mousemove 800 990 click 1 windowfocus --sync "$win"
sleep 2
shot() { sleep "${2:-2}"; /usr/bin/import -window root "$out/$1.png"; }
steps=${STEPS:-14}
for i in $(seq 1 "$steps"); do
  shot "desk-$(printf %02d "$i")" 2
  xdotool key Next
done
# Presenter mode, back to the first step (Page Up), then forward with the arrow keys.
xdotool key p
for i in $(seq 1 "$steps"); do xdotool key Prior; done
for i in $(seq 1 "$steps"); do
  shot "presenter-$(printf %02d "$i")" 2
  xdotool key Right
done
xdotool key b
shot presenter-blank 1
echo "screenshots in $out: $(ls "$out" | tr '\n' ' ')"
