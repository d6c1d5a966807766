#!/bin/sh
# Remake the lock files from pyproject.toml (run where PyPI is reachable, after changing a
# dependency): requirements-test.lock (the program and its test tools) and requirements.lock
# (the program alone, at the same versions). Both pin every package with the hashes of all its
# files on PyPI, so a Raspberry Pi installs the same versions as a PC. deploy/venv.sh (the README's
# commands, CI) and deploy/install.sh install from them with pip's --require-hashes.
set -e
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check "pip-tools>=7.4,<8"
COMPILE="$WORK/venv/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links"
cp pyproject.toml "$WORK/pyproject.toml"
# setuptools builds the project itself (pip install --no-build-isolation -e .).
echo 'setuptools>=70.1' >"$WORK/build.in"
(cd "$WORK" && $COMPILE --extra test -o test.lock pyproject.toml build.in &&
    $COMPILE -c test.lock -o run.lock pyproject.toml build.in)
# pip-compile's header names the temporary folder's files: say how to remake the lock instead.
for pair in "test.lock requirements-test.lock" "run.lock requirements.lock"; do
    set -- $pair
    { echo "# Made by deploy/lock.sh from pyproject.toml: do not edit by hand."
      sed '/^[^#]/,$!d; s/-c test.lock/requirements-test.lock/' "$WORK/$1"; } >"$2"
done
echo "requirements.lock и requirements-test.lock обновлены."
