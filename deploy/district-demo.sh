#!/bin/sh
# District sync on one machine, for a newcomer: installs PostgreSQL (Debian's package) when
# missing, starts a throwaway PostgreSQL cluster in ./district-demo/, a district server on
# http://localhost:8100, two demo schools that upload to it, and serves the dashboard
# (login rono, password rayon-parol) until Ctrl+C. Everything stays in ./district-demo/.
# Usage: sh deploy/district-demo.sh [--port P]
set -e
cd "$(dirname "$0")/.."
. deploy/venv.sh
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql || {
    echo "Нужен PostgreSQL: sudo apt install postgresql" >&2; exit 1; }
exec .venv/bin/python -m district.demo "$@"
