"""The build as a child process of the server (build.start): `python -m server.archive.worker
--data DIR --period N | --year N [--classes 5А,5Б]`, at nice 10 (set by the parent)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from ..config import load_settings
from . import build


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--period", type=int)
    p.add_argument("--year", type=int)
    p.add_argument("--classes", default="")
    args = p.parse_args(argv)
    settings = load_settings(args.data, mdns=False)
    from .. import clock
    if settings.clock and not clock.is_set():
        clock.set_now(settings.clock)
    # The server stopping: stop between documents, like «Отменить».
    signal.signal(signal.SIGTERM, lambda *_: (build.root(args.data) / build.CANCEL).write_text("stop"))
    try:
        build.run(args.data, settings.db_path, period_id=args.period, year_id=args.year,
                  classes=[c for c in args.classes.split(",") if c] or None, worker=True)
    except build.Cancelled:
        return 0
    except Exception:
        logging.exception("archive build failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
