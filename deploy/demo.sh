#!/bin/sh
# Install Zhurnal into ./.venv, build the demo school on first run, serve it on the LAN.
# Usage: sh deploy/demo.sh [--port P] [--no-mdns] …  (extra options go to `zhurnal serve`)
set -e
cd "$(dirname "$0")/.."
. deploy/venv.sh
DATA=${ZHURNAL_DATA:-./data}
if [ ! -f "$DATA/zhurnal.sqlite3" ]; then
    .venv/bin/zhurnal demo --data "$DATA"
else
    echo "Демо-школа уже создана в $DATA. Логины: director, deputy, sysadmin, teacher01, staff01,"
    echo "parent0001, student0001; пароль — заданный при создании (по умолчанию demo-parol)."
fi
exec .venv/bin/zhurnal serve --data "$DATA" "$@"
