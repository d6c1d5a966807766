#!/bin/sh
# Run the whole test suite on a fresh Debian machine: makes ./.venv, installs Zhurnal
# with its test tools, installs Chromium (browser tests), age (backup interop) and PostgreSQL
# (district sync) when
# missing and we may, then runs pytest. Extra arguments go to pytest.
set -e
cd "$(dirname "$0")/.."
ZH_EXTRAS=test . deploy/venv.sh
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v age >/dev/null 2>&1 || missing="$missing age"
command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
# The archive's PDFs (WeasyPrint): pango and the DejaVu fonts at run time.
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
# District sync's tests run a throwaway PostgreSQL cluster (district/pgtemp.py).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
    apt_install $missing || echo "Без пакетов:$missing — тесты, которым они нужны, будут пропущены с объяснением." >&2
fi
# Test files run in parallel on every core (pytest-xdist), a file's tests in one process so
# that a module's browser or database is started once. `-n 0` among the arguments runs serially.
# Each run has its own folder for the tests' files (pytest would otherwise share
# /tmp/pytest-of-USER with any other run on the machine, and prune its folders while they are in
# use); a passed test's folder is deleted at once (pyproject.toml), a failed one's is kept.
BASETEMP=$(mktemp -d "${TMPDIR:-/tmp}/zhurnal-tests-XXXXXX")
echo "Файлы тестов: $BASETEMP (остаются только у упавших тестов)"
exec .venv/bin/python -m pytest -n auto --dist loadfile --basetemp "$BASETEMP" "$@"
