# Sourced by deploy/demo.sh and tests/run.sh: make ./.venv and install Zhurnal into it.
# Usage: [ZH_EXTRAS=test] . deploy/venv.sh   (a sourced script cannot take its own arguments in sh)
# Works on a fresh Debian with only python3: Debian splits venv/ensurepip into the
# python3-venv package, which is installed here when we are root.
set -e
ZH_ROOT=$(pwd)  # the callers cd to the repository top first
ZH_VENV="$ZH_ROOT/.venv"
ZH_EXTRAS=${ZH_EXTRAS:-}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1
    fi
}

apt_install() {
    # apt_install PACKAGE...: install Debian packages if we can; say so if we cannot.
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "Нет apt-get: установите вручную пакеты: $*" >&2; return 1
    fi
    echo "Устанавливаю пакеты: $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Нужен Python 3.11 или новее, а установлен $(python3 --version 2>&1)." >&2
    exit 1
fi

if [ ! -x "$ZH_VENV/bin/python" ]; then
    if ! python3 -m venv "$ZH_VENV" 2>/dev/null; then
        rm -rf "$ZH_VENV"
        pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt_install "python$pyver-venv" || apt_install python3-venv || {
            echo "Не удалось создать виртуальное окружение. Установите пакет python3-venv:" >&2
            echo "    sudo apt install python3-venv" >&2
            exit 1
        }
        python3 -m venv "$ZH_VENV"
    fi
    # A new environment (or one remade after python3 was upgraded) has nothing installed yet,
    # whatever an old stamp says.
    rm -f "$ZH_VENV"/.zhurnal-installed*
fi

# Reinstall only when the project's metadata or its lock changed since the last install.
# The dependencies come from the lock file (exact versions, every file's hash checked:
# deploy/lock.sh makes it), then Zhurnal itself, editable, with nothing more.
ZH_LOCK="$ZH_ROOT/requirements${ZH_EXTRAS:+-$ZH_EXTRAS}.lock"
ZH_STAMP="$ZH_VENV/.zhurnal-installed${ZH_EXTRAS:+-$ZH_EXTRAS}"
if [ ! -f "$ZH_STAMP" ] || [ "$ZH_ROOT/pyproject.toml" -nt "$ZH_STAMP" ] || [ "$ZH_LOCK" -nt "$ZH_STAMP" ]; then
    echo "Устанавливаю Журнал и его зависимости в $ZH_VENV …"
    # The build backend is chatty; keep its output in a log and show it only on failure.
    # A newer pip is welcome but not needed: without internet the install goes on with the old one.
    "$ZH_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip \
        >"$ZH_VENV/install.log" 2>&1 || true
    if "$ZH_VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
            -r "$ZH_LOCK" >>"$ZH_VENV/install.log" 2>&1 &&
        "$ZH_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
            -e "$ZH_ROOT" >>"$ZH_VENV/install.log" 2>&1; then
        touch "$ZH_STAMP"
    else
        cat "$ZH_VENV/install.log" >&2
        echo "Установка не удалась (подробности выше и в $ZH_VENV/install.log)." >&2
        exit 1
    fi
fi
