#!/usr/bin/env bash
# Install what the real-server validation harness (harness.py) needs. Idempotent: run it again and it
# only fills in what is missing.
#   - Debian packages apache2, libapache2-mod-wsgi-py3, nginx (as root, apt-get, non-interactive).
#     Their system services are not left running: the harness starts its own instances with its own
#     config files in a temporary folder, on its own ports.
#   - a Python virtual environment scripts/validate/.venv with gunicorn, cheroot, waitress, twisted
#   - the load generator oha, built from crates.io into scripts/validate/.tools (takes a few minutes of CPU)
# Usage: scripts/validate/install.sh [--no-apt] [--no-oha]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
TOOLS="$HERE/.tools"

GUNICORN_VERSION=27.0.1
CHEROOT_VERSION=11.1.2
WAITRESS_VERSION=3.0.2
TWISTED_VERSION=26.10.0
OHA_VERSION=1.16.0

do_apt=1
do_oha=1
for arg in "$@"; do
    case "$arg" in
        --no-apt) do_apt=0 ;;
        --no-oha) do_oha=0 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

say() { echo "install.sh: $*"; }

# --- Debian packages -------------------------------------------------------------------------------
if [ "$do_apt" = 1 ]; then
    pkgs=(apache2 libapache2-mod-wsgi-py3 nginx)
    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO="sudo"
        say "apt-get install ${missing[*]}"
        # Keep the packages' maintainer scripts from starting the system services: a policy-rc.d that
        # answers 101 ("action forbidden") while we install, unless one is already there.
        made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
            $SUDO chmod +x /usr/sbin/policy-rc.d
            made_policy=1
        fi
        trap '[ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
        # Where systemd runs, do not leave them enabled or running either (only the ones installed now).
        for svc in apache2 nginx; do
            case " ${missing[*]} " in *" $svc "*) ;; *) continue ;; esac
            if command -v systemctl >/dev/null; then
                # works without a running systemd too: it removes the boot-time links
                $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
                [ "$svc" = apache2 ] && $SUDO systemctl disable apache-htcacheclean >/dev/null 2>&1 || true
            fi
            if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
            elif command -v service >/dev/null; then
                $SUDO service "$svc" stop >/dev/null 2>&1 || true
            fi
        done
    else
        say "Debian packages already installed: ${pkgs[*]}"
    fi
    [ -e /usr/lib/apache2/modules/mod_wsgi.so ] || say "warning: /usr/lib/apache2/modules/mod_wsgi.so is missing"
fi

# --- Python virtual environment ------------------------------------------------------------------
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PY" -m venv "$VENV"
fi
want=("gunicorn==$GUNICORN_VERSION" "cheroot==$CHEROOT_VERSION" "waitress==$WAITRESS_VERSION" "twisted==$TWISTED_VERSION")
if "$VENV/bin/python" - "${want[@]}" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
EOF
then
    say "venv already has ${want[*]}"
else
    say "pip install ${want[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${want[@]}"
fi

# --- oha ---------------------------------------------------------------------------------------------
if [ "$do_oha" = 1 ]; then
    if [ -x "$TOOLS/bin/oha" ] && "$TOOLS/bin/oha" --version 2>/dev/null | grep -q "$OHA_VERSION"; then
        say "oha $OHA_VERSION already in $TOOLS/bin"
    else
        command -v cargo >/dev/null || { echo "install.sh: cargo is needed to build oha (rustup.rs)" >&2; exit 1; }
        say "cargo install oha $OHA_VERSION (a few minutes of CPU, niced)"
        # (oha 1.16 does not build with --no-default-features, so its default TLS stays in.)
        nice -n 19 cargo install oha --version "$OHA_VERSION" --locked --root "$TOOLS"
    fi
fi

say "done. Run: $VENV/bin/python $HERE/harness.py --quick"
