#!/bin/sh
# Build the offline release bundle: one file for a USB stick that installs and updates Zhurnal
# with no internet (deploy/appliance.md). Run it where the internet is; it prints the path of
#   OUT_DIR/zhurnal-VERSION.tar         the program and every dependency as wheels for x86-64
#                                       Debian 12 and 64-bit Raspberry Pi OS (Python 3.11),
#                                       SHA256SUMS and its Ed25519 signature by the release key
#   OUT_DIR/zhurnal-VERSION.tar.sha256  the file's own checksum (sha256sum -c), for the USB copy
#
# Usage: ZHURNAL_RELEASE_KEY=KEYFILE sh deploy/bundle.sh OUT_DIR [--wheels DIR] [--arch ARCH]...
#   ZHURNAL_RELEASE_KEY  the project's release key (Ed25519, PEM), kept offline by the release
#                        manager; its public half must be in server/appliance/release-keys.txt
#   --wheels DIR         take the dependencies from the wheel files in DIR instead of PyPI
#                        (no network at all; a test or a mirror)
#   --arch ARCH          x86_64 and/or aarch64 (default: both)
#   ZHURNAL_PYTHON       the Python 3.11 that builds (default: ./.venv's, made by deploy/venv.sh)
set -e

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=""
WHEELS=""
ARCHES=""
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) [ $# -ge 2 ] || { echo "Ошибка: после --wheels укажите папку." >&2; exit 2; }
                  WHEELS=$(cd "$2" && pwd); shift ;;
        --arch) [ $# -ge 2 ] || { echo "Ошибка: после --arch укажите x86_64 или aarch64." >&2; exit 2; }
                case "$2" in x86_64|aarch64) ARCHES="$ARCHES $2" ;;
                    *) echo "Ошибка: --arch: x86_64 или aarch64, а указано «$2»." >&2; exit 2 ;; esac
                shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "Ошибка: неизвестный параметр «$1». Справка: sh deploy/bundle.sh --help" >&2; exit 2 ;;
        *) [ -z "$OUT" ] || { echo "Ошибка: папка для пакета указана дважды." >&2; exit 2; }
           OUT=$1 ;;
    esac
    shift
done
[ -n "$OUT" ] || { echo "Использование: ZHURNAL_RELEASE_KEY=КЛЮЧ sh deploy/bundle.sh ПАПКА" >&2; exit 2; }
ARCHES=${ARCHES:-x86_64 aarch64}
if [ -z "$ZHURNAL_RELEASE_KEY" ] || [ ! -f "$ZHURNAL_RELEASE_KEY" ]; then
    echo "Ошибка: пакет подписывается ключом выпуска: укажите файл ключа, например" >&2
    echo "    ZHURNAL_RELEASE_KEY=/media/release/zhurnal-release.pem sh deploy/bundle.sh $OUT" >&2
    exit 2
fi
KEY=$(cd "$(dirname "$ZHURNAL_RELEASE_KEY")" && pwd)/$(basename "$ZHURNAL_RELEASE_KEY")

PY=${ZHURNAL_PYTHON:-}
if [ -z "$PY" ]; then
    (cd "$SRC" && . deploy/venv.sh)
    PY="$SRC/.venv/bin/python"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A copy of the source (building in place would leave build/ and *.egg-info in it).
mkdir "$WORK/src"
(cd "$SRC" && tar --exclude=./.git --exclude=./.venv --exclude=./data --exclude='*.egg-info' --exclude=./build \
    --exclude=./dist --exclude=./.release-key --exclude='__pycache__' --exclude=./.pytest_cache -cf - .) |
    (cd "$WORK/src" && tar -xf -)
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$WORK/src/server/__init__.py")
if [ "$VERSION" != "$(sed -n 's/^version = "\(.*\)"$/\1/p' "$WORK/src/pyproject.toml")" ]; then
    echo "Ошибка: версия в server/__init__.py ($VERSION) и в pyproject.toml разные: исправьте перед выпуском." >&2
    exit 2
fi
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || true)
BUILT=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
# What the installed program knows of its own build (the clock check: no date before it).
printf '{"version": "%s", "built_at": "%s", "commit": "%s"}\n' "$VERSION" "$BUILT" "$COMMIT" \
    >"$WORK/src/server/appliance/build.json"

NAME="zhurnal-$VERSION"
STAGE="$WORK/$NAME"
mkdir -p "$STAGE/wheels" "$STAGE/deploy"
if [ -n "$WHEELS" ]; then
    NET="--no-index --find-links $WHEELS"
    ISOLATION="--no-build-isolation"
else
    NET=""
    ISOLATION=""
fi

echo "Собираю Журнал $VERSION …" >&2
# shellcheck disable=SC2086
if ! "$PY" -m pip wheel -q --isolated --disable-pip-version-check --no-deps $ISOLATION $NET \
        -w "$STAGE/wheels" "$WORK/src" >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log" >&2
    echo "Ошибка: программа не собралась (подробности выше)." >&2
    exit 1
fi
WHEEL=$(ls "$STAGE"/wheels/zhurnal-*.whl)

# The dependencies are exactly those of requirements.lock (deploy/lock.sh), each checked against
# its hashes from PyPI. A --wheels folder (a test's wheelhouse, a mirror) holds wheels rebuilt
# from an installation, whose hashes differ: there the lock's versions are taken without hashes.
# The lock's last section (setuptools, which only builds the program) stays out of the bundle.
REQ="$WORK/requirements.txt"
sed '/considered to be unsafe/,$d' "$SRC/requirements.lock" >"$REQ.locked"
if [ -n "$WHEELS" ]; then
    grep -v -- '--hash=' "$REQ.locked" | sed 's/[[:space:]]*\\$//' >"$REQ"
    HASHES=""
else
    mv "$REQ.locked" "$REQ"
    HASHES="--require-hashes"
fi
# Every dependency as a wheel for each platform: Debian 12 and Raspberry Pi OS 12 have glibc
# 2.36, so any manylinux wheel up to 2.36 runs there; never a source package (no compiler there).
for arch in $ARCHES; do
    platforms=""
    m=36
    while [ $m -ge 5 ]; do platforms="$platforms --platform manylinux_2_${m}_$arch"; m=$((m - 1)); done
    echo "Загружаю зависимости для $arch …" >&2
    # shellcheck disable=SC2086
    if ! "$PY" -m pip download -q --isolated --disable-pip-version-check --only-binary=:all: \
            --python-version 3.11 --implementation cp $platforms --platform "manylinux2014_$arch" $NET \
            --no-deps $HASHES -d "$STAGE/wheels" -r "$REQ" >"$WORK/download-$arch.log" 2>&1; then
        cat "$WORK/download-$arch.log" >&2
        echo "Ошибка: не для всех зависимостей есть готовые пакеты (wheel) под $arch и Python 3.11" >&2
        echo "(выше — какие). Пакет не собран: без них Журнал не установится на этом компьютере." >&2
        exit 1
    fi
done

# The installer and the files it installs, as in the checkout.
install -m 0755 "$SRC/deploy/install.sh" "$STAGE/install.sh"
for f in zhurnal.service zhurnal-update.service zhurnal-update.path zhurnal.toml.example kiosk-policy.json \
         zhurnal-kiosk.desktop kiosk-setup.sh kiosk.md appliance.md; do
    install -m 0644 "$SRC/deploy/$f" "$STAGE/deploy/$f"
done
install -m 0644 "$SRC/README.md" "$STAGE/README.md"

PLATFORMS=$(echo $ARCHES | tr ' ' ',')
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from server.appliance.release import main; sys.exit(main(sys.argv[2:]))' \
    "$WORK/src" seal "$STAGE" "$KEY" "$PLATFORMS" >/dev/null
(cd "$WORK" && tar --owner=0 --group=0 --numeric-owner -cf "$OUT/$NAME.tar.tmp" "$NAME")
mv "$OUT/$NAME.tar.tmp" "$OUT/$NAME.tar"
(cd "$OUT" && sha256sum "$NAME.tar" >"$NAME.tar.sha256")
echo "$OUT/$NAME.tar"
