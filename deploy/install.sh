#!/bin/sh
# Install Zhurnal for a real school (not the demo) as a systemd service:
#   /opt/zhurnal/venv           the program (a plain `pip install` of this checkout)
#   /var/lib/zhurnal            the data folder (database, keys, backups), owner zhurnal, 0750
#   /var/lib/zhurnal/zhurnal.toml   settings, from deploy/zhurnal.toml.example (kept if present)
#   /etc/systemd/system/zhurnal.service   from deploy/zhurnal.service, enabled and started
#   /usr/local/bin/zhurnal      console commands, run as the zhurnal user on that data folder
# Run again after `git pull` to update: the data and zhurnal.toml are kept, the service restarts.
#
# Usage: sudo sh deploy/install.sh [--dry-run] [--root DIR] [--no-start]
#   --dry-run   only print what would be done
#   --root DIR  install under DIR as if it were / (to try it out or prepare an image):
#               no user is created, nothing is chowned, systemd is not touched
#   --no-start  install and enable, but do not start or restart the service
set -e

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=""
DRY=""
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --root) [ $# -ge 2 ] || { echo "Ошибка: после --root укажите папку." >&2; exit 2; }
                ROOT=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
        --no-start) START="" ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "Ошибка: неизвестный параметр «$1». Справка: sh deploy/install.sh --help" >&2; exit 2 ;;
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
    echo "    sudo sh deploy/install.sh" >&2
    exit 2
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Ошибка: нужен Python 3.11 или новее, а установлен $(python3 --version 2>&1)." >&2
    exit 1
fi

echo "Устанавливаю Журнал из $SRC${ROOT:+ в $ROOT}${DRY:+ (только показ, ничего не меняется)}"

# 1. The program: a virtual environment in /opt/zhurnal/venv.
VENV="$ROOT$APP/venv"
if [ ! -x "$VENV/bin/python" ]; then
    run mkdir -p "$ROOT$APP"
    run rm -rf "$VENV"
    echo "+ python3 -m venv $VENV"
    if [ -z "$DRY" ] && ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian keeps venv's pip in a separate package.
        rm -rf "$VENV"
        pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        system apt-get update -qq
        system env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$pyver-venv"
        python3 -m venv "$VENV"
    fi
fi
echo "+ $VENV/bin/python -m pip install --upgrade $SRC  (подробности: $ROOT$APP/install.log)"
if [ -z "$DRY" ]; then
    # The checkout is copied first: building in place would leave build/ and *.egg-info in it.
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    (cd "$SRC" && tar --exclude=./.git --exclude=./.venv --exclude=./data --exclude='*.egg-info' \
        --exclude=./build -cf - .) | (cd "$BUILD" && tar -xf -)
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade "$BUILD" \
            >"$ROOT$APP/install.log" 2>&1; then
        tail -n 30 "$ROOT$APP/install.log" >&2
        echo "Ошибка: установка не удалась (подробности выше и в $ROOT$APP/install.log)." >&2
        echo "Прежняя версия, если она была, не тронута; служба не перезапускалась." >&2
        exit 1
    fi
    "$VENV/bin/zhurnal" --help >/dev/null
fi
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

# 3. Console commands: `sudo zhurnal user list` works on the school's data as the zhurnal user.
run mkdir -p "$ROOT$(dirname "$BIN")"
if [ -z "$DRY" ]; then
    cat >"$ROOT$BIN" <<EOF
#!/bin/sh
# Журнал: команды для консоли установленной школы (deploy/install.sh). Работают от имени
# пользователя $USER_NAME с папкой данных $DATA, чтобы созданные файлы были доступны службе.
export ZHURNAL_DATA=$DATA
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $USER_NAME -- $APP/venv/bin/zhurnal "\$@"
fi
if [ "\$(id -un)" = $USER_NAME ]; then exec $APP/venv/bin/zhurnal "\$@"; fi
echo "Запустите через sudo: sudo zhurnal \$*" >&2
exit 2
EOF
    chmod 0755 "$ROOT$BIN"
else
    echo "+ (записать $BIN)"
fi

# 4. The service.
run mkdir -p "$ROOT$(dirname "$UNIT")"
run install -m 0644 "$SRC/deploy/zhurnal.service" "$ROOT$UNIT"
system systemctl daemon-reload
system systemctl enable zhurnal.service
if [ -n "$START" ]; then
    system systemctl restart zhurnal.service
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
