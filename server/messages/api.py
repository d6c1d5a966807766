"""JSON API of messages (/api/v1/messages) for the logged-in person: the same area functions
as the pages. Attachments are sent from the pages only; the API lists them with their URLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import sqlite3

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from ..accounts.store import User
from ..web.access import current_user
from . import audience, store

TAGS = ["Сообщения"]
ANY = {"any_user": True}


class Person(msgspec.Struct):
    id: int
    name: str


class ThreadRow(msgspec.Struct):
    """Переписка в списке: `kind` — кому (person, class_parents, class_students, staff…),
    `messages` — сколько сообщений, `unread` — сколько из них не прочитано."""

    id: int
    subject: str
    kind: str
    audience: str | None
    author: Person
    pinned: bool
    created_at: str
    last_at: str | None
    messages: int
    unread: int


class Threads(msgspec.Struct):
    unread: int
    threads: list[ThreadRow]


class Choice(msgspec.Struct):
    key: str
    label: str


class ClassChoice(msgspec.Struct):
    id: int
    name: str


class PersonChoice(msgspec.Struct):
    id: int
    name: str
    hint: str | None


class Recipients(msgspec.Struct, omit_defaults=True):
    """Кому можно написать; `people` — только с ?list=КЛЮЧ."""

    kinds: list[str]
    lists: list[Choice]
    classes: list[ClassChoice]
    people: list[PersonChoice] | None = None


class Attachment(msgspec.Struct):
    id: int
    name: str
    size: int | None
    url: str


class Reader(msgspec.Struct):
    name: str
    read_at: str | None


class Receipts(msgspec.Struct):
    """У своих сообщений: сколько прочитали из скольких и кто."""

    read: int
    total: int
    readers: list[Reader]


class Message(msgspec.Struct, omit_defaults=True):
    id: int
    author: Person
    body: str
    created_at: str
    private_to: int | None
    read_at: str | None
    attachments: list[Attachment]
    receipts: Receipts | None = None


class Thread(msgspec.Struct):
    """Переписка с сообщениями; `members` — сколько в ней участников."""

    id: int
    subject: str
    kind: str
    audience: str | None
    author: Person
    pinned: bool
    created_at: str
    members: int
    messages: list[Message]


class Sent(msgspec.Struct):
    thread_id: int


class Replied(msgspec.Struct):
    message_id: int


def _thread_json(t) -> dict:
    return {"id": t["id"], "subject": t["subject"], "kind": t["kind"], "audience": t["audience"],
            "author": {"id": t["author_id"], "name": store.fio(t)}, "pinned": bool(t["pinned_at"]),
            "created_at": t["created_at"]}


def _threads(conn: sqlite3.Connection, person_id: int) -> tuple[list[sqlite3.Row], int]:
    return store.threads_for(conn, person_id), store.unread_count(conn, person_id)


def _recipients(conn: sqlite3.Connection, user: User, list_: str | None) -> dict:
    out: dict = {"kinds": audience.kinds_for(user),
                 "lists": [{"key": k, "label": label} for k, label in audience.picker_groups(conn, user)],
                 "classes": [{"id": c["id"], "name": c["name"]} for c in audience.my_classes(conn, user)]}
    if list_:
        out["people"] = [{"id": c.id, "name": c.name, "hint": c.hint}
                         for c in audience.picker_people(conn, user, list_)]
    return out


@get("/api/v1/messages", opt=ANY, tags=TAGS)
async def api_threads(request: Request) -> Threads:
    """Переписки пользователя (новые сверху) и число непрочитанных сообщений."""
    user = current_user(request)
    threads, unread = await request.app.state.db.read(_threads, user.person_id)
    return msgspec.convert({"unread": unread,
                            "threads": [{**_thread_json(t), "last_at": t["last_at"], "messages": t["messages"],
                                         "unread": t["unread"]} for t in threads]}, Threads)


@get("/api/v1/messages/recipients", opt=ANY, tags=TAGS)
async def api_recipients(request: Request,
                         list_: Annotated[str | None, QueryParameter(name="list")] = None) -> Recipients:
    """Кому можно написать: виды адресатов, списки и классы; с ?list=КЛЮЧ — люди этого списка."""
    user = current_user(request)
    return msgspec.convert(await request.app.state.db.read(_recipients, user, list_), Recipients)


@get("/api/v1/messages/{thread_id:int}", opt=ANY, tags=TAGS)
async def api_thread(request: Request, thread_id: FromPath[int]) -> Thread:
    """Переписка с сообщениями; отмечает полученные сообщения прочитанными. У своих сообщений — кто прочитал."""
    user = current_user(request)
    db = request.app.state.db
    view = await db.read(store.thread_view, user, thread_id)  # Forbidden for a stranger's thread
    if view.unread:
        await db.write(store.mark_read, user.person_id, thread_id)
    out = []
    for m in view.messages:
        item = {"id": m["id"], "author": {"id": m["author_id"], "name": m["author"]}, "body": m["body"],
                "created_at": m["created_at"], "private_to": m["private_to"], "read_at": m["my_read_at"],
                "attachments": [{"id": f["id"], "name": f["file_name"], "size": f["file_size"],
                                 "url": f"/messages/files/{f['id']}"} for f in m["attachments"]]}
        if m["receipts"] is not None:
            item["receipts"] = {"read": len(m["receipts"]["read"]),
                                "total": len(m["receipts"]["read"]) + len(m["receipts"]["unread"]),
                                "readers": m["receipts"]["read"]}
        out.append(item)
    return msgspec.convert({**_thread_json(view.thread), "members": view.thread["member_count"], "messages": out},
                           Thread)


@dataclass
class NewMessage:
    subject: str
    body: str
    kind: str = "person"
    to: int | None = None          # kind "person": the person's id
    class_id: int | None = None    # kinds "class_parents", "class_students"
    pin: bool = False


@post("/api/v1/messages", opt=ANY, tags=TAGS, status_code=201)
async def api_send(request: Request, data: JSONBody[NewMessage]) -> Sent:
    """Новое сообщение: человеку, родителям класса, учащимся класса, всем сотрудникам (по правам отправителя)."""
    user = current_user(request)
    target = data.to if data.kind == "person" else data.class_id
    thread_id = await request.app.state.db.write(store.start_thread, user, data.kind, target, data.subject,
                                                 data.body, [], data.pin)
    return Sent(thread_id)


@dataclass
class Reply:
    body: str
    to: int | None = None          # the thread's author only: answer one member privately


@post("/api/v1/messages/{thread_id:int}/reply", opt=ANY, tags=TAGS, status_code=201)
async def api_reply(request: Request, thread_id: FromPath[int], data: JSONBody[Reply]) -> Replied:
    """Ответ в переписке (родитель или учащийся в общей рассылке отвечает только её автору)."""
    user = current_user(request)
    db = request.app.state.db
    await db.read(store.member_thread, user.person_id, thread_id)  # Forbidden for a stranger's thread
    message_id = await db.write(store.reply, user, thread_id, data.body, data.to, [])
    return Replied(message_id)


ROUTES = [api_threads, api_recipients, api_thread, api_send, api_reply]
