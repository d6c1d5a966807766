"""Pages of messages: the list of threads, writing a new message, a thread with replies and
read receipts, pinning an announcement, attachments; and the unread count in the menu."""

from __future__ import annotations

import secrets
from pathlib import Path

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import File

from ..errors import NotFound
from ..school import store as school
from ..web.access import current_user
from ..web.errors import too_large
from ..web.conditional import ledger_position
from ..web.forms import int_or_none, see_other
from ..web.templating import is_htmx, page
from . import audience, store
from .audience import MessageError

# Reading is allowed on the hall kiosk too (it is part of the diary, §1.4.6); writing,
# attachments (a download would stay on the kiosk's disk) and pins are not.
READ = {"any_user": True, "kiosk": True}
WRITE = {"any_user": True}
ADMINISTRATION = {"roles": {"director", "deputy", "sysadmin"}}
# The request limit of routes that take attachments: the settings' per-file size times the
# number of files must fit in it (5 MB × 3 by default).
MAX_UPLOAD_REQUEST = 16 * 1024 * 1024 + 200_000


async def unread_for_menu(request: Request) -> None:
    """before_request of the app: the menu's «Сообщения (3)» for full pages, one indexed count."""
    if request.method != "GET" or is_htmx(request) or request.url.path.startswith(("/api/", "/static/")):
        return None
    user = request.state.get("user") if "user" in request.state else None
    if user is not None and not user.must_change_password:
        # The ledger's position in the same hop: the page's ETag (server/web/conditional.py).
        request.state.unread_messages, request.state.ledger_position = await request.app.state.db.read(
            _menu_and_position, user.person_id)
    return None


def _menu_and_position(conn, person_id: int) -> tuple[int, tuple[int, int]]:
    return store.unread_count(conn, person_id), ledger_position(conn)


# --- attachments --------------------------------------------------------------------------------

async def save_uploads(request: Request, form) -> store.Files:
    """Keep the form's files under DATA/messages/ with random names; MessageError if too many or too big."""
    settings = request.app.state.settings
    uploads = [f for f in (form.getall("files", []) if hasattr(form, "getall") else [])
               if isinstance(f, UploadFile) and f.filename]
    if len(uploads) > settings.message_attachments_max:
        raise MessageError(f"Можно приложить не больше {settings.message_attachments_max} файлов.")
    limit = settings.message_attachment_mb * 1024 * 1024
    datas = []
    for upload in uploads:
        data = await upload.read()
        if len(data) > limit:
            raise MessageError(f"Файл «{_shown_name(upload.filename)}» больше {settings.message_attachment_mb} МБ.")
        datas.append((upload.filename, data))
    folder = Path(settings.data_dir) / "messages"
    folder.mkdir(parents=True, exist_ok=True)
    saved: store.Files = []
    for name, data in datas:
        rel = f"messages/{secrets.token_hex(16)}"
        (Path(settings.data_dir) / rel).write_bytes(data)
        saved.append((_shown_name(name), rel, len(data)))
    return saved


def _shown_name(name: str) -> str:
    return Path(name.replace("\\", "/")).name.strip()[:120] or "файл"


def drop_files(request: Request, files: store.Files) -> None:
    for _, rel, _ in files:
        (Path(request.app.state.settings.data_dir) / rel).unlink(missing_ok=True)


# --- pages --------------------------------------------------------------------------------------

@get("/messages", opt=READ)
async def messages_page(request: Request) -> Response:
    user = current_user(request)
    db = request.app.state.db
    inform = await db.read(school.classes_of_class_teacher, user.person_id) if user.has("class_teacher") else []
    return page("messages/list.html", threads=await db.read(store.threads_for, user.person_id),
                can_write=bool(audience.kinds_for(user)) and not user.kiosk, fio=store.fio,
                inform_classes=[] if user.kiosk else inform)


FORM_FIELDS = ("kind", "to", "class_id", "subject", "body", "list", "pin")


async def _compose(request: Request, form: dict, error: str | None = None, status: int = 200) -> Response:
    form = {k: form.get(k, "") for k in FORM_FIELDS}
    user = current_user(request)
    to = int_or_none(form.get("to"))
    found = await request.app.state.db.read(audience.picker, user, form.get("list"), to)
    template = "messages/_recipient.html" if is_htmx(request) else "messages/new.html"
    return page(template, status_code=status, groups=found.groups, chosen=found.chosen, people=found.people, to=to,
                kinds=audience.kinds_for(user), kind_labels=audience.KIND_LABELS,
                classes=found.classes, form=form, error=error,
                is_admin=audience.is_admin(user), max_files=request.app.state.settings.message_attachments_max,
                max_mb=request.app.state.settings.message_attachment_mb)


@get("/messages/new", opt=WRITE)
async def compose_page(request: Request) -> Response:
    """The form: the recipient picker offers only people and classes this person may write to."""
    q = request.query_params
    return await _compose(request, {k: q.get(k, "") for k in ("list", "to", "kind", "class_id")})


def _attachments_too_large(request: Request) -> str:
    settings = request.app.state.settings
    return (f"Вложения слишком велики: к сообщению можно приложить до {settings.message_attachments_max} файлов, "
            f"каждый не больше {settings.message_attachment_mb} МБ. Уменьшите файлы или отправьте их в нескольких "
            "сообщениях.")


@post("/messages", opt=WRITE, request_max_body_size=MAX_UPLOAD_REQUEST,
      exception_handlers=too_large(_attachments_too_large))
async def send(request: Request) -> Response:
    user = current_user(request)
    raw = await request.form()
    form = {k: str(raw.get(k, "")) for k in FORM_FIELDS}
    kind = form["kind"] or "person"
    target = int_or_none(form["to"]) if kind == "person" else int_or_none(form["class_id"])
    files: store.Files = []
    try:
        files = await save_uploads(request, raw)
        thread_id = await request.app.state.db.write(
            store.start_thread, user, kind, target, form["subject"], form["body"], files, form["pin"] == "1")
    except MessageError as e:
        drop_files(request, files)
        return await _compose(request, form, error=e.message, status=400)
    return see_other(f"/messages/{thread_id}")


async def _member_of(request: Request, thread_id: int) -> None:
    """Forbidden unless the person is a member of the thread (the same answer whether it exists)."""
    await request.app.state.db.read(store.member_thread, current_user(request).person_id, thread_id)


async def _thread_page(request: Request, thread_id: int, error: str | None = None, status: int = 200,
                       body: str = "") -> Response:
    user = current_user(request)
    db = request.app.state.db
    view = await db.read(store.thread_view, user, thread_id)
    t = view.thread
    if view.unread:
        marked = await db.write(store.mark_read, user.person_id, thread_id)
        if marked and "unread_messages" in request.state:  # counted for the menu before they were read
            request.state.unread_messages = max(0, request.state.unread_messages - marked)
    group_author = t["kind"] != "person" and t["author_id"] == user.person_id
    return page("messages/thread.html", status_code=status, t=t, messages=view.messages, error=error, body=body,
                group_author=group_author, writers=view.writers, reply_to=int_or_none(request.query_params.get("to")),
                can_reply=not user.kiosk, can_pin=audience.is_admin(user) and t["author_id"] == user.person_id,
                fio=store.fio, max_files=request.app.state.settings.message_attachments_max,
                max_mb=request.app.state.settings.message_attachment_mb)


@get("/messages/{thread_id:int}", opt=READ)
async def thread_page(request: Request, thread_id: FromPath[int]) -> Response:
    """A thread: opening it marks what was sent to the reader as read."""
    return await _thread_page(request, thread_id)


@post("/messages/{thread_id:int}/reply", opt=WRITE, request_max_body_size=MAX_UPLOAD_REQUEST,
      exception_handlers=too_large(_attachments_too_large))
async def reply(request: Request, thread_id: FromPath[int]) -> Response:
    user = current_user(request)
    await _member_of(request, thread_id)
    raw = await request.form()
    files: store.Files = []
    try:
        files = await save_uploads(request, raw)
        await request.app.state.db.write(store.reply, user, thread_id, str(raw.get("body", "")),
                                         int_or_none(str(raw.get("to", ""))), files)
    except MessageError as e:
        drop_files(request, files)
        return await _thread_page(request, thread_id, error=e.message, status=400, body=str(raw.get("body", "")))
    return see_other(f"/messages/{thread_id}#last")


@post("/messages/{thread_id:int}/pin", opt=ADMINISTRATION)
async def pin(request: Request, thread_id: FromPath[int]) -> Response:
    """Pin (or unpin) an announcement to its recipients' home pages."""
    await _member_of(request, thread_id)
    raw = await request.form()
    # Not the author (or not the administration): MessageError 403, the error page.
    await request.app.state.db.write(store.set_pinned, current_user(request), thread_id,
                                     str(raw.get("pinned", "1")) == "1")
    return see_other(f"/messages/{thread_id}", "saved")


@get("/messages/files/{attachment_id:int}", opt=WRITE)
async def attachment_file(request: Request, attachment_id: FromPath[int]) -> Response:
    """An attachment, only to the people its message was written by or sent to."""
    row = await request.app.state.db.read(store.attachment, current_user(request).person_id, attachment_id)
    if row is None:
        raise NotFound("Файла нет.")
    # Always a download, never shown inline: an uploaded HTML file must not run as our page.
    return File(path=store.attachment_path(request.app.state.settings.data_dir, row), filename=row["file_name"],
                content_disposition_type="attachment", media_type="application/octet-stream")


ROUTES = [messages_page, compose_page, send, thread_page, reply, pin, attachment_file]
