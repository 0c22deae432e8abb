#!/usr/bin/env bash
# Serve the built page (scripts/web-build.sh → target/web/) on http://127.0.0.1:PORT/ for a
# local look (default port 8080). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f target/web/index.html ] || scripts/web-build.sh
port=${1:-8080}
echo "serversim: http://127.0.0.1:$port/  (#lesson=1, #scenario=slow-reader-dos, #bench)" >&2
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory target/web
