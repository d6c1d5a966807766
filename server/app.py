"""The one place that wires the app together."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from . import __version__, clock, diary, home, kiosk, profile
from .accounts import credentials as credentials_routes
from .accounts import kiosk_pins
from .accounts import routes as accounts_routes
from .accounts.store import purge_sessions
from .admin import backups as backup_routes
from .admin import routes as admin_routes
from .appliance import routes as appliance_routes
from .config import Settings
from .db import Database, migrate
from .memory import release_memory, settle_memory
from .duties import Duties
from .paths import resource_dir
from .journal import api as journal_api
from .journal import grading
from .journal import routes as journal_routes
from .messages import api as messages_api
from .planning import api as plan_api
from .planning import routes as plan_routes
from .messages import informing as informing_routes
from .messages import request_routes as message_request_routes
from .messages import routes as messages_routes
from .reports import api as reports_api
from .reports import routes as reports_routes
from .archive import routes as archive_routes
from .school import api as school_api
from .school import import_routes
from .school.imports import purge_pending as purge_pending_imports
from .school import routes as school_routes
from sync import routes as sync_routes
from .timetable import routes as timetable_routes
from .web import api_contract
from .web.access import access_guard
from .years import api as years_api
from .years import routes as years_routes
from .web.errors import EXCEPTION_HANDLERS
from .web.security import add_security_headers
from .web.templating import compile_all, make_environment

log = logging.getLogger("zhurnal")


def create_app(settings: Settings, *, warm: bool = False, worker: bool = False) -> Litestar:
    """The Litestar app for the school whose data is in `settings.data_dir`.

    `warm` (the server does it; the tests, which make hundreds of apps, mostly not):
    compile every template and `settle_memory` at start-up. `worker`: one of several processes
    of `zhurnal serve --workers N` (server/workers.py)."""
    if settings.clock and not clock.is_set():
        clock.set_now(settings.clock)  # a process that moved its clock already (tests) keeps it
    jinja = make_environment()

    @asynccontextmanager
    async def lifespan(app: Litestar):
        migrate(settings.db_path)
        db = Database(settings.db_path, settings.read_connections)
        await db.open()
        app.state.db = db
        await db.write(purge_sessions, timedelta(minutes=settings.session_idle_minutes))
        if not worker:  # with workers, `zhurnal serve` does it once before starting them
            purge_pending_imports(settings.data_dir)  # uploads left waiting before a restart
        from backups.scheduler import BackupScheduler
        from sync.uploader import Uploader

        app.state.backups = BackupScheduler(settings)
        app.state.uploader = Uploader(settings)
        # The backup scheduler, the year roll, sync and mDNS: in one process of the server
        # (server/duties.py), taken over by another if that one dies.
        duties = app.state.duties = Duties(settings, db, app.state.backups, app.state.uploader)
        await duties.begin()
        if warm:
            compile_all(jinja)
            settle_memory()
        try:
            yield
        finally:
            if warm:
                release_memory()
            await duties.end()
            await db.close()

    static = create_static_files_router(
        path="/static", directories=[resource_dir("static")], opt={"public": True},
        cache_control=None, include_in_schema=False, name="static",
    )
    openapi_router = Router(path="/api/v1/schema", route_handlers=[], opt={"public": True}, include_in_schema=False)
    handlers = [
            static,
            *home.ROUTES,
            *diary.ROUTES,
            *accounts_routes.ROUTES,
            *school_routes.ROUTES,
            *import_routes.ROUTES,
            *school_api.ROUTES,
            *journal_routes.ROUTES,
            *journal_api.ROUTES,
            *plan_routes.ROUTES,
            *plan_api.ROUTES,
            *grading.ROUTES,
            *credentials_routes.ROUTES,
            *admin_routes.ROUTES,
            *backup_routes.ROUTES,
            *sync_routes.ROUTES,
            *messages_routes.ROUTES,
            *messages_api.ROUTES,
            *informing_routes.ROUTES,
            *kiosk.ROUTES,
            *appliance_routes.ROUTES,
            *reports_routes.ROUTES,
            *archive_routes.ROUTES,
            *reports_api.ROUTES,
            *years_routes.ROUTES,
            *years_api.ROUTES,
            *timetable_routes.ROUTES,
            *message_request_routes.ROUTES,
            *profile.ROUTES,
            *kiosk_pins.ROUTES,
    ]
    api_contract.document(handlers)  # /api/v1 only, one error shape (server/web/api_contract.py)
    app = Litestar(
        route_handlers=handlers,
        # Access first, then ids in the path: a stranger learns nothing. Then no school data
        # on an impossible date (the server's clock; server/appliance/routes.py).
        guards=[appliance_routes.with_clock_check(access_guard)],
        # After the guard: the menu's unread-messages count for full pages.
        before_request=messages_routes.unread_for_menu,
        lifespan=[lifespan],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja)),
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[add_security_headers],
        openapi_config=OpenAPIConfig(
            title="Журнал — API школы",
            version=__version__,
            path="/api/v1/schema",
            render_plugins=[JsonRenderPlugin()],
            use_handler_docstrings=True,  # the Russian docstrings describe the API
            openapi_router=openapi_router,
        ),
        request_max_body_size=settings.max_request_bytes,
        # School Wi-Fi is often weak: a quarter's grid is 176 KB of HTML and 10 KB gzipped,
        # a year's 760 KB and 38 KB. Level 1 costs ~0.2 ms per quarter grid here (level 9,
        # Litestar's default, six times that for 40 % less). Uploaded files (homework,
        # attachments: PDFs, photos) are already compressed: sent as they are.
        compression_config=CompressionConfig(
            backend="gzip", gzip_compress_level=1, minimum_size=1024,
            exclude=["^/homework-files/", "^/messages/files/", "^/diary/files/"],
        ),
        debug=False,
    )
    app.state.settings = settings
    app.state.worker = worker
    app.state.jinja = jinja
    return app
