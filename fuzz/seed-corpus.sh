#!/usr/bin/env bash
# Seed the fuzz corpora: every example scenario and preset for `scenario`, the sample access log
# (split into small pieces) for `access_log`. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/scenario corpus/access_log
cp ../models/scenarios/*.toml ../models/presets/*.toml corpus/scenario/
split -l 20 ../models/scenarios/access-sample.log corpus/access_log/sample-
echo "seeded corpus/scenario ($(ls corpus/scenario | wc -l) files) and corpus/access_log ($(ls corpus/access_log | wc -l) files)"
