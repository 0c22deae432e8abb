#!/usr/bin/env bash
# Run the same M/M/8 model (72 req/s, 10/s per server, ρ = 0.9) in SimPy, Ciw and serversim, check
# each against the Erlang C answer, and print simulated requests per CPU-second and the ratios.
# Installs SimPy and Ciw into benches/peers/.venv from PyPI on first use.
# Usage: benches/peers/compare.sh    (N=200000 customers per Python peer; N_SERVERSIM=7200000)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet simpy==4.1.2 ciw==3.2.7
fi
(cd ../.. && cargo build --release --quiet)
.venv/bin/python compare.py
