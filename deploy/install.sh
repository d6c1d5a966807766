#!/bin/sh
# Install Zhurnal for a real school (not the demo) as a systemd service:
#   /opt/zhurnal/versions/V/venv   the program, one folder per version
#   /opt/zhurnal/current           -> versions/V, what the service runs (previous -> the one before)
#   /var/lib/zhurnal               the data folder (database, keys, backups), owner zhurnal, 0750
#   /var/lib/zhurnal/zhurnal.toml  settings, from deploy/zhurnal.toml.example (kept if present)
#   /etc/systemd/system/zhurnal.service   from deploy/zhurnal.service, enabled and started
#   /etc/systemd/system/zhurnal-update.{path,service}   updates asked for on the sysadmin's page
#   /usr/local/bin/zhurnal         console commands, run as the zhurnal user on that data folder
#
# From an unpacked release bundle (sh deploy/bundle.sh; deploy/appliance.md) it needs no
# network at all: `sudo sh install.sh`. A machine that already has Zhurnal is updated the safe
# way (`zhurnal update`: backup, migrations tried on a copy, automatic rollback). From a git
# checkout it needs the internet once (pip downloads the dependencies).
#
# Usage: sudo sh install.sh [--dry-run] [--root DIR] [--no-start]
#   --dry-run   only print what would be done
#   --root DIR  install under DIR as if it were / (to try it out or prepare an image):
#               no user is created, nothing is chowned, systemd is not touched
#   --no-start  install and enable, but do not start or restart the service
set -e

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -f "$HERE/MANIFEST.json" ] && [ -d "$HERE/wheels" ]; then
    BUNDLE=$HERE   # an unpacked release bundle: install.sh at its top, deploy/ beside it
    SRC=$HERE
else
    BUNDLE=""
    SRC=$(cd "$HERE/.." && pwd)
fi
ROOT=""
DRY=""
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --root) [ $# -ge 2 ] || { echo "Ошибка: после --root укажите папку." >&2; exit 2; }
                ROOT=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
        --no-start) START="" ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "Ошибка: неизвестный параметр «$1». Справка: sh install.sh --help" >&2; exit 2 ;;
    esac
    shift
done

APP=/opt/zhurnal
DATA=/var/lib/zhurnal
UNIT=/etc/systemd/system/zhurnal.service
BIN=/usr/local/bin/zhurnal
USER_NAME=zhurnal

run() {
    # run COMMAND…: do it, or only show it with --dry-run.
    echo "+ $*"
    [ -n "$DRY" ] || "$@"
}

system() {
    # system COMMAND…: a change to the real system (users, owners, systemd): not under --root.
    if [ -n "$ROOT" ]; then echo "  (--root: пропущено) $*"; else run "$@"; fi
}

if [ -z "$ROOT" ] && [ -z "$DRY" ] && [ "$(id -u)" != 0 ]; then
    echo "Ошибка: установка меняет систему (пользователь, служба): запустите через sudo:" >&2
    echo "    sudo sh $0" >&2
    exit 2
fi
PY=${ZHURNAL_INSTALL_PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Ошибка: нужен Python 3.11 или новее, а установлен $("$PY" --version 2>&1)." >&2
    exit 1
fi

if [ -n "$BUNDLE" ]; then
    VERSION=$(sed -n 's/^ *"version": "\(.*\)",\{0,1\}$/\1/p' "$BUNDLE/MANIFEST.json")
    want=$(sed -n 's/^ *"python": "\(.*\)",\{0,1\}$/\1/p' "$BUNDLE/MANIFEST.json")
    have=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if [ "$want" != "$have" ]; then
        echo "Ошибка: пакет собран для Python $want (Debian 12, Raspberry Pi OS 12), а здесь Python $have." >&2
        exit 1
    fi
    # Every file as the release manager signed it, before anything is installed from them.
    if ! (cd "$BUNDLE" && sha256sum --quiet -c SHA256SUMS); then
        echo "Ошибка: файлы пакета повреждены или изменены (см. выше). Скопируйте пакет заново." >&2
        exit 1
    fi
else
    VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$SRC/server/__init__.py")-$(date -u +%Y%m%d%H%M%S)
fi

# An installed Zhurnal is updated by the installed program itself: it checks the signature with
# the key it already trusts, backs up, tries the migrations on a copy and rolls back on failure.
if [ -n "$BUNDLE" ] && [ -z "$DRY" ] && [ -x "$ROOT$APP/current/venv/bin/zhurnal" ]; then
    echo "Журнал уже установлен: обновляю его до $VERSION (zhurnal update)."
    exec "$ROOT$APP/current/venv/bin/zhurnal" update "$BUNDLE" --yes --data "$ROOT$DATA"
fi

echo "Устанавливаю Журнал $VERSION из $SRC${ROOT:+ в $ROOT}${DRY:+ (только показ, ничего не меняется)}"

# 0. Debian packages the archive's PDFs need at run time (server/archive/: WeasyPrint draws text
# through pango; DejaVu Sans is the font every page is set in). On the installation media; from an
# offline bundle with no apt source the program still installs, only the archive cannot be built.
need=""
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
    system apt-get install -y -qq $need ||
        echo "Предупреждение: не удалось установить пакеты$need — архив журналов (PDF) не будет собираться, пока их нет: sudo apt install$need" >&2
fi

# 1. The program: a virtual environment in /opt/zhurnal/versions/VERSION/venv.
TARGET="$ROOT$APP/versions/$VERSION"
VENV="$TARGET/venv"
LOG="$ROOT$APP/install.log"
run mkdir -p "$ROOT$APP/versions"
run rm -rf "$TARGET"
echo "+ python3 -m venv $VENV"
if [ -z "$DRY" ] && ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian keeps venv's pip in a separate package (it is on the installation media).
    rm -rf "$VENV"
    pyver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    system apt-get install -y -qq "python$pyver-venv" || {
        echo "Ошибка: нужен пакет python$pyver-venv: sudo apt install python$pyver-venv" >&2; exit 1; }
    "$PY" -m venv "$VENV"
fi
failed() {
    tail -n 30 "$LOG" >&2
    rm -rf "$TARGET"
    echo "Ошибка: установка не удалась (подробности выше и в $LOG)." >&2
    echo "Прежняя версия, если она была, не тронута; служба не перезапускалась." >&2
    exit 1
}
if [ -n "$BUNDLE" ]; then
    echo "+ $VENV/bin/python -m pip install --no-index --find-links $BUNDLE/wheels zhurnal==$VERSION  (без сети)"
    if [ -z "$DRY" ]; then
        # --isolated: no pip.conf or PIP_* variable of this machine; --no-index: no network at all.
        "$VENV/bin/python" -m pip install --isolated --no-index --no-cache-dir --disable-pip-version-check \
            --find-links "$BUNDLE/wheels" "zhurnal==$VERSION" >"$LOG" 2>&1 || failed
        # The signature, checked by the program just installed (its own release keys).
        if ! "$VENV/bin/zhurnal" update --check "$BUNDLE" >>"$LOG" 2>&1; then
            tail -n 3 "$LOG" >&2
            rm -rf "$TARGET"
            echo "Ошибка: подпись пакета не подтверждена: он не установлен." >&2
            exit 1
        fi
        sed -n 's/.*подпись верна: ключ \(.*\)\.$/Подпись пакета верна, ключ выпуска: \1 (сверьте с опубликованным в deploy\/appliance.md)./p' "$LOG"
    fi
else
    echo "+ $VENV/bin/python -m pip install --require-hashes -r requirements.lock && pip install $SRC  (подробности: $LOG)"
    if [ -z "$DRY" ]; then
        # The checkout is copied first: building in place would leave build/ and *.egg-info in it.
        BUILD=$(mktemp -d)
        trap 'rm -rf "$BUILD"' EXIT
        (cd "$SRC" && tar --exclude=./.git --exclude=./.venv --exclude=./data --exclude='*.egg-info' \
            --exclude=./build --exclude=./.release-key -cf - .) | (cd "$BUILD" && tar -xf -)
        # The dependencies at the lock's versions, every file's hash checked (deploy/lock.sh).
        { "$VENV/bin/python" -m pip install --disable-pip-version-check --require-hashes \
              -r "$BUILD/requirements.lock" &&
          "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps --no-build-isolation "$BUILD"
        } >"$LOG" 2>&1 || failed
    fi
fi
[ -n "$DRY" ] || "$VENV/bin/zhurnal" --help >/dev/null
OLD=$(readlink "$ROOT$APP/current" 2>/dev/null || true)
if [ -z "$DRY" ]; then
    ln -sfn "versions/$VERSION" "$ROOT$APP/.current.new"
    mv -T "$ROOT$APP/.current.new" "$ROOT$APP/current"
    if [ -n "$OLD" ] && [ "$OLD" != "versions/$VERSION" ]; then
        ln -sfn "$OLD" "$ROOT$APP/.previous.new"
        mv -T "$ROOT$APP/.previous.new" "$ROOT$APP/previous"
    fi
else
    echo "+ ln -s versions/$VERSION $APP/current"
fi
# The layout before versions/ (one venv in /opt/zhurnal/venv): not used any more.
[ ! -d "$ROOT$APP/venv" ] || run rm -rf "$ROOT$APP/venv"
run install -m 0644 "$SRC/README.md" "$ROOT$APP/README.md"

# 2. The system user and the data folder (never readable by other users).
if [ -z "$ROOT" ] && ! getent passwd "$USER_NAME" >/dev/null 2>&1; then
    system useradd --system --user-group --home-dir "$DATA" --no-create-home \
        --shell /usr/sbin/nologin --comment "Zhurnal school journal" "$USER_NAME"
fi
run mkdir -p "$ROOT$DATA"
run chmod 0750 "$ROOT$DATA"
# Files a console command once made as root would stop the service writing them.
system chown -R "$USER_NAME:$USER_NAME" "$DATA"
if [ ! -e "$ROOT$DATA/zhurnal.toml" ]; then
    run install -m 0640 "$SRC/deploy/zhurnal.toml.example" "$ROOT$DATA/zhurnal.toml"
    system chown "root:$USER_NAME" "$DATA/zhurnal.toml"
else
    echo "  $DATA/zhurnal.toml уже есть: оставляю как есть (все настройки: deploy/zhurnal.toml.example)"
fi

# 3. Console commands: `sudo zhurnal user list` works on the school's data as the zhurnal user;
# `sudo zhurnal update …` runs as root (it installs the program and restarts the service).
run mkdir -p "$ROOT$(dirname "$BIN")"
if [ -z "$DRY" ]; then
    cat >"$ROOT$BIN" <<EOF
#!/bin/sh
# Журнал: команды для консоли установленной школы (install.sh). Работают от имени
# пользователя $USER_NAME с папкой данных $DATA, чтобы созданные файлы были доступны службе;
# обновление (zhurnal update) — от имени root: оно ставит программу и перезапускает службу.
export ZHURNAL_DATA=$DATA
PROGRAM=$APP/current/venv/bin/zhurnal
if [ "\$(id -u)" = 0 ]; then
    case "\$1" in update) exec "\$PROGRAM" "\$@" ;; esac
    exec runuser -u $USER_NAME -- "\$PROGRAM" "\$@"
fi
if [ "\$(id -un)" = $USER_NAME ]; then exec "\$PROGRAM" "\$@"; fi
echo "Запустите через sudo: sudo zhurnal \$*" >&2
exit 2
EOF
    chmod 0755 "$ROOT$BIN"
else
    echo "+ (записать $BIN)"
fi

# 4. The services: the server, and the updater the sysadmin's page asks for.
run mkdir -p "$ROOT$(dirname "$UNIT")"
run install -m 0644 "$SRC/deploy/zhurnal.service" "$ROOT$UNIT"
run install -m 0644 "$SRC/deploy/zhurnal-update.service" "$ROOT$(dirname "$UNIT")/zhurnal-update.service"
run install -m 0644 "$SRC/deploy/zhurnal-update.path" "$ROOT$(dirname "$UNIT")/zhurnal-update.path"
system systemctl daemon-reload
system systemctl enable zhurnal.service zhurnal-update.path
if [ -n "$START" ]; then
    system systemctl restart zhurnal.service
    system systemctl start zhurnal-update.path
fi
# Versions before the one replaced are not needed any more (previous stays for a rollback).
if [ -z "$DRY" ]; then
    for v in "$ROOT$APP"/versions/*; do
        case "$v" in */"$VERSION"|*/"$(basename "${OLD:-none}")") ;; *) [ ! -d "$v" ] || rm -rf "$v" ;; esac
    done
fi

if [ -n "$ROOT" ] || [ -n "$DRY" ]; then
    echo "Готово${DRY:+ (ничего не изменено)}."
    exit 0
fi
echo
echo "Журнал установлен как служба zhurnal (sudo systemctl status zhurnal)."
if [ -n "$START" ]; then
    sleep 2
    if systemctl is-active --quiet zhurnal.service; then
        echo "Сервер работает. Откройте в браузере (порт — как в $DATA/zhurnal.toml, по умолчанию 8000):"
        echo "    http://zhurnal.local:8000"
        for ip in $(hostname -I 2>/dev/null); do
            case "$ip" in *:*) ;; *) echo "    http://$ip:8000" ;; esac
        done
        echo "При первом открытии Журнал попросит название школы и создаст учётную запись администратора."
    else
        echo "Ошибка: служба не запустилась. Сообщения сервера: sudo journalctl -u zhurnal -n 50" >&2
        exit 1
    fi
fi
