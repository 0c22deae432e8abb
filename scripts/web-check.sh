#!/usr/bin/env bash
# Build the web page, serve it on 127.0.0.1, and check it in headless Chromium
# (scripts/web-check.cjs): it renders, the console has no panic or error, a lesson and an
# example open through the URL fragment, and #bench reports the simulation's speed. Installs
# what it needs: Debian's chromium (apt) and playwright-core (npm) into target/web-check/.
# Screenshots: target/web-check/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/web-build.sh
if ! command -v chromium >/dev/null; then
    echo "web-check: installing Debian's chromium" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
tools=target/web-check
mkdir -p "$tools"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
    (cd "$tools" && npm install --no-save --no-audit --no-fund --silent playwright-core@1.64.1)
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory target/web >"$tools/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break
    sleep 0.1
done
NODE_PATH="$tools/node_modules" timeout 600 node scripts/web-check.cjs "http://127.0.0.1:$port/" "$tools"
