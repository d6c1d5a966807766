#!/bin/sh
# Turn a second machine (a Raspberry Pi with a touch screen, an old PC) into the hall kiosk
# (deploy/kiosk.md, «Автоматическая настройка»): a user `kiosk` logged in automatically on
# the first console, which starts a bare X session with Chromium in kiosk mode on /kiosk,
# the browser policy from deploy/kiosk-policy.json, no screen blanking, the browser started
# again whenever it closes or crashes and every night at 03:00.
#
# Usage: sudo sh kiosk-setup.sh [--url URL] [--user NAME] [--root DIR] [--dry-run]
#   --url URL   the kiosk page (default http://zhurnal.local:8000/kiosk; an IP address works
#               where the school's network does not resolve .local names)
#   --user NAME the kiosk's account (default kiosk): no password, no administrator rights
#   --root DIR  write the files under DIR as if it were / (to try it out or prepare an image):
#               no package is installed, no user created, systemd is not touched
#   --dry-run   only print what would be done
set -e

HERE=$(cd "$(dirname "$0")" && pwd)
URL="http://zhurnal.local:8000/kiosk"
KIOSK_USER=kiosk
ROOT=""
DRY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --url) [ $# -ge 2 ] || { echo "Ошибка: после --url укажите адрес страницы киоска." >&2; exit 2; }
               URL=$2; shift ;;
        --user) [ $# -ge 2 ] || { echo "Ошибка: после --user укажите имя пользователя." >&2; exit 2; }
                KIOSK_USER=$2; shift ;;
        --root) [ $# -ge 2 ] || { echo "Ошибка: после --root укажите папку." >&2; exit 2; }
                ROOT=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
        --dry-run) DRY=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "Ошибка: неизвестный параметр «$1». Справка: sh kiosk-setup.sh --help" >&2; exit 2 ;;
    esac
    shift
done
case "$URL" in
    http://*/kiosk|https://*/kiosk) ;;
    *) echo "Ошибка: адрес киоска должен вести на страницу /kiosk, например http://192.168.1.10:8000/kiosk" >&2
       exit 2 ;;
esac
case "$KIOSK_USER" in
    *[!a-z0-9_-]*|"") echo "Ошибка: имя пользователя — латинские строчные буквы и цифры." >&2; exit 2 ;;
esac
if [ -z "$ROOT" ] && [ -z "$DRY" ] && [ "$(id -u)" != 0 ]; then
    echo "Ошибка: настройка меняет систему (пользователь, автовход): запустите через sudo:" >&2
    echo "    sudo sh $0" >&2
    exit 2
fi
POLICY="$HERE/kiosk-policy.json"
[ -f "$POLICY" ] || { echo "Ошибка: нет файла $POLICY (запускайте скрипт из папки deploy)." >&2; exit 1; }
HOME_DIR="/home/$KIOSK_USER"
LAUNCHER=/usr/local/bin/zhurnal-kiosk

run() {
    echo "+ $*"
    [ -n "$DRY" ] || "$@"
}

system() {
    if [ -n "$ROOT" ]; then echo "  (--root: пропущено) $*"; else run "$@"; fi
}

put() {
    # put FILE MODE: write standard input to ROOT/FILE.
    echo "+ (записать $1)"
    if [ -n "$DRY" ]; then cat >/dev/null; return; fi
    mkdir -p "$ROOT$(dirname "$1")"
    cat >"$ROOT$1"
    chmod "$2" "$ROOT$1"
}

echo "Настраиваю киоск${ROOT:+ в $ROOT}: $URL${DRY:+ (только показ, ничего не меняется)}"

# 1. Packages: a bare X server, Chromium, a cursor hider. Raspberry Pi OS calls the browser
# chromium-browser in older releases; whatever is already installed is kept.
need=""
command -v startx >/dev/null 2>&1 || need="$need xserver-xorg xinit"
command -v xset >/dev/null 2>&1 || need="$need x11-xserver-utils"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need="$need chromium"
command -v unclutter >/dev/null 2>&1 || need="$need unclutter"
if [ -n "$need" ]; then
    if [ -n "$ROOT" ] || [ -n "$DRY" ]; then
        echo "  (пропущено) apt-get install$need"
    elif ! env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need; then
        echo "Ошибка: не удалось установить пакеты:$need. Подключите киоск к интернету на время установки" >&2
        echo "или установите их с носителя дистрибутива, затем запустите скрипт снова." >&2
        exit 1
    fi
fi

# 2. The user: no password (nobody logs in as it by hand), not in sudo.
if [ -z "$ROOT" ] && ! getent passwd "$KIOSK_USER" >/dev/null 2>&1; then
    system useradd --create-home --shell /bin/sh --comment "Zhurnal hall kiosk" "$KIOSK_USER"
fi
[ -n "$ROOT" ] || [ -n "$DRY" ] || HOME_DIR=$(getent passwd "$KIOSK_USER" | cut -d: -f6)

# 3. Automatic login on the first console, straight into the kiosk's X session.
put /etc/systemd/system/getty@tty1.service.d/zhurnal-kiosk.conf 0644 <<EOF
# Киоск Журнала (kiosk-setup.sh): автоматический вход пользователя $KIOSK_USER на первой консоли.
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin $KIOSK_USER --noclear %I \$TERM
EOF
put "$HOME_DIR/.profile" 0644 <<'EOF'
# Киоск Журнала (kiosk-setup.sh): на первой консоли сразу графический сеанс с браузером.
# Когда он закончится (браузер или X упали), вход повторится автоматически.
if [ -z "$DISPLAY" ] && [ "$(tty)" = /dev/tty1 ]; then
    exec startx -- -nolisten tcp vt1 >"$HOME/.zhurnal-kiosk-x.log" 2>&1
fi
EOF
put "$HOME_DIR/.xinitrc" 0644 <<EOF
# Киоск Журнала (kiosk-setup.sh): экран не гаснет, курсор прячется, браузер перезапускается.
xset s off
xset s noblank
xset -dpms
unclutter -idle 1 -root >/dev/null 2>&1 &
exec $LAUNCHER
EOF

# 4. The browser, started again whenever it closes or crashes.
put "$LAUNCHER" 0755 <<EOF
#!/bin/sh
# Киоск Журнала (kiosk-setup.sh): Chromium во весь экран на странице киоска; если его закрыть
# или он упадёт, через 2 секунды он открывается снова. Инкогнито: после перезапуска браузер
# ничего не помнит (ночью, в 03:00, он перезапускается нарочно: /etc/cron.d/zhurnal-kiosk).
URL="\${ZHURNAL_KIOSK_URL:-$URL}"
BROWSER=\$(command -v chromium || command -v chromium-browser || echo chromium)
while true; do
    "\$BROWSER" --kiosk --incognito --no-first-run --noerrdialogs --disable-translate \\
        --disable-features=Translate --disable-pinch --overscroll-history-navigation=0 \\
        --disable-session-crashed-bubble --password-store=basic --check-for-update-interval=31536000 \\
        "\$URL"
    sleep 2
done
EOF

# 5. The browser policy (deploy/kiosk.md): no password manager, no downloads, incognito only.
for dir in /etc/chromium/policies/managed /etc/chromium-browser/policies/managed; do
    put "$dir/zhurnal-kiosk.json" 0644 <"$POLICY"
done

# 6. Every night a fresh browser (incognito starts anew).
put /etc/cron.d/zhurnal-kiosk 0644 <<EOF
# Киоск Журнала (kiosk-setup.sh): ночной перезапуск браузера; цикл zhurnal-kiosk откроет его снова.
0 3 * * * root pkill -u $KIOSK_USER -x chromium; pkill -u $KIOSK_USER -x chromium-browser; true
EOF

if [ -z "$ROOT" ] && [ -z "$DRY" ]; then
    chown "$KIOSK_USER:" "$HOME_DIR/.profile" "$HOME_DIR/.xinitrc"
fi
# No desktop or display manager competes for the screen: the machine boots to the console.
system systemctl set-default multi-user.target
system systemctl daemon-reload
echo "Готово${DRY:+ (ничего не изменено)}. Перезагрузите киоск: sudo reboot — он откроет $URL."
