"""The OpenAPI document (/api/v1/schema) as a contract: /api/v1 only, one error shape.

- Only /api/v1 operations are described: the HTML pages and their form posts (e.g.
  `POST /messages/{thread_id}/pin`) are left out (`include_in_schema = False`), so a client
  generated from the document calls nothing that answers HTML.
- Every error an API client gets is `ApiError` — `{"error": "<Russian text>", "status": N}`,
  made in one place (server/web/errors.py: error_response) — and every operation documents it
  for 400, 401, 403, 404 and 405 (and 413 where a body is uploaded), replacing Litestar's own
  `{"detail", "status_code"}` description of a 400, which this server never sends.
- Typed answers (msgspec Structs, next to their routes): the login, /me, the school structure
  (server/school/api.py), messages, the КТП, credentials, the calendar template, /me/lessons,
  my journals, a lesson, a cell, a period grade. A route builds its dict as before and returns
  `msgspec.convert(answer, Model)`, so what is sent is what the document says (a key the model
  lacks is not sent). Still untyped objects (listed in tests/test_api_contract.py UNTYPED, which
  fails when one is typed and not taken off): the journal grid, the diary reads, the reports.
- tests/test_api_contract.py runs schemathesis against the document (teacher and deputy, every
  operation, 4 generated requests each, a fixed seed, through the real app): no 5xx, only
  documented status codes and content types, answers fit their schemas; a negative run (requests
  the document forbids) finds each refused with a 4xx; and every method a path does not declare
  is answered 405 with ApiError."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Empty


class ApiError(msgspec.Struct):
    """Ошибка: текст для человека (по-русски) и код статуса HTTP."""

    error: str
    status: int


def _spec(text: str) -> ResponseSpec:
    return ResponseSpec(ApiError, description=text, generate_examples=False)


API_ERRORS = {
    400: _spec("Неверный запрос: текст ошибки в поле error (например, неверная дата или отметка)."),
    401: _spec("Нужно войти (POST /api/v1/auth/login)."),
    403: _spec("Нет доступа: у пользователя нет такой роли, это чужие данные, или нужно сменить выданный пароль."),
    404: _spec("Такой записи нет (или она не видна этому пользователю)."),
    405: _spec("Этот адрес не принимает такой метод."),
}
UPLOAD_ERRORS = {413: _spec("Файл больше допустимого: предел назван в поле error.")}


def is_api(paths: Iterable[str]) -> bool:
    return all(p.startswith("/api/v1/") and not p.startswith("/api/v1/schema") for p in paths)


def document(handlers: Iterable) -> None:
    """Leave the pages out of the schema; give every API operation the one error shape."""
    for handler in handlers:
        if not hasattr(handler, "http_methods"):
            continue  # a router (the static files): already out of the schema
        if not is_api(handler.paths):
            handler.include_in_schema = False
            continue
        errors = dict(API_ERRORS)
        if getattr(handler, "request_max_body_size", None) not in (None, Empty):
            errors.update(UPLOAD_ERRORS)
        handler.responses = {**errors, **(handler.responses or {})}
