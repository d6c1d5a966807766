"""One place that turns exceptions into Russian error pages, htmx fragments or JSON."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException, SerializationException
from litestar.response import Redirect

from ..errors import UserError
from .access import PasswordChangeRequired
from .templating import is_htmx

log = logging.getLogger("zhurnal")

TITLES = {
    400: "Неверный запрос",
    401: "Нужно войти в систему",
    403: "Доступ запрещён",
    404: "Страница не найдена",
    405: "Так обратиться к странице нельзя",
    409: "Конфликт данных",
    413: "Слишком большой запрос",
    429: "Слишком много запросов",
    500: "Внутренняя ошибка сервера",
}
DEFAULT_DETAILS = {
    400: "Запрос содержит ошибку. Проверьте введённые данные.",
    403: "У вас нет доступа к этой странице.",
    404: "Такой страницы нет. Проверьте адрес или вернитесь на главную.",
    405: "Этот адрес не принимает такой запрос.",
    413: "Запрос слишком большой. Уменьшите файл или объём данных.",
    429: "Подождите немного и повторите.",
    500: "Что-то пошло не так. Попробуйте ещё раз; если ошибка повторится, сообщите администратору школы.",
}


# A refused upload is read to its end (and thrown away) before the answer, up to this much and
# this long: a browser sends the whole body before it reads any answer, so an answer sent
# while it still sends reaches it as a reset connection, not as our page (issue 11).
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 20


class _DrainFirst:
    """An ASGI response that first reads what is left of the request body."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send) -> None:
        received, deadline = 0, time.monotonic() + DRAIN_SECONDS
        try:
            while received < DRAIN_BYTES:
                message = await asyncio.wait_for(receive(), max(0.1, deadline - time.monotonic()))
                if message.get("type") != "http.request":
                    break
                received += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except (TimeoutError, asyncio.TimeoutError, OSError, RuntimeError):
            pass  # the client stopped sending or went away: answer what we can
        await self.inner(scope=scope, receive=receive, send=send)


class DrainingResponse(Response):
    """A 413 page that a browser gets to see (see DRAIN_BYTES)."""

    def to_asgi_response(self, app, request, **kwargs):
        return _DrainFirst(super().to_asgi_response(app, request, **kwargs))


def too_large(message: str | Callable[[Request], str]) -> dict:
    """`exception_handlers` for an upload route: over its `request_max_body_size`, a Russian
    message that names the route's own limit (`message`, or a function of the request)."""
    def handler(request: Request, exc: Exception) -> Response:
        return error_response(request, 413, message(request) if callable(message) else message)
    return {413: handler}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, detail: str, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    response_class = DrainingResponse if status == 413 else Response
    if _is_api(request):
        return response_class({"error": detail, "status": status}, status_code=status, headers=headers,
                        media_type=MediaType.JSON)
    env = request.app.state.jinja
    user = request.state.get("user") if "user" in request.state else None
    template = "_error_fragment.html" if is_htmx(request) else "error.html"
    if is_htmx(request):
        # htmx does not swap error responses by default; retarget to the page's message area.
        headers.setdefault("HX-Retarget", "#flash")
        headers.setdefault("HX-Reswap", "innerHTML")
    body = env.get_template(template).render(
        request=request, user=user, status=status, title=TITLES.get(status, "Ошибка"), detail=detail
    )
    return response_class(body, status_code=status, headers=headers, media_type=MediaType.HTML)


def handle_not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    if _is_api(request):
        return error_response(request, 401, "Войдите в систему.")
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        target += "?next=" + quote(request.url.path + (("?" + request.url.query) if request.url.query else ""))
    if is_htmx(request):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def handle_password_change(request: Request, exc: PasswordChangeRequired) -> Response:
    if _is_api(request):
        return error_response(request, 403, "Сначала смените выданный пароль.")
    if is_htmx(request):
        return Response("", status_code=403, headers={"HX-Redirect": "/password"})
    return Redirect("/password", status_code=303)


# Litestar's (msgspec's) validation messages, said in Russian with the field they are about.
_TYPE_NAMES = {"str": "строка", "int": "целое число", "float": "число", "bool": "true или false",
               "object": "объект", "array": "список", "null": "null", "number": "число"}
_EXPECTED = re.compile(r"Expected `([^`]+)`(?:, got `([^`]+)`)?")
_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`")
_MISSING_PARAM = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_PLACES = {"body": "поле", "query": "параметр запроса", "path": "часть адреса", "header": "заголовок",
           "cookie": "cookie"}


def _type_name(spec: str) -> str:
    return " или ".join(_TYPE_NAMES.get(part.strip(), part.strip()) for part in spec.split("|"))


def _one_problem(err: dict) -> str:
    key = str(err.get("key") or "")
    source = str(getattr(err.get("source"), "value", err.get("source")) or "body")
    message = str(err.get("message") or "")
    at = re.search(r"at `\$\.([\w.\[\]]+)`", message)
    if at:
        key = at.group(1)
    if m := _MISSING_FIELD.search(message):
        return f"не указано обязательное поле «{m.group(1)}»"
    if source == "body" and key == "data":
        m = _EXPECTED.search(message)
        if m and m.group(1) == "object":
            return "тело запроса должно быть JSON-объектом"
        return "неверное тело запроса"
    where = f"{_PLACES.get(source, 'поле')} «{key}»" if key else "значение"
    m = _EXPECTED.search(message)
    if m and m.group(2):
        return f"{where}: ожидается {_type_name(m.group(1))}, а передано {_type_name(m.group(2))}"
    if m:  # a bound: "Expected `int` >= 1"
        return f"{where}: значение вне допустимых пределов"
    return f"{where}: неверное значение"


def validation_detail(exc: HTTPException) -> str | None:
    """A Russian sentence naming what was wrong with the request, or None if we cannot tell."""
    detail = str(exc.detail or "")
    if isinstance(exc.__cause__, SerializationException) or "JSON is malformed" in detail:
        return "Запрос содержит ошибку: тело запроса — не JSON. Проверьте кавычки, скобки и запятые."
    if m := _MISSING_PARAM.search(detail):
        return f"Запрос содержит ошибку: не указан {_PLACES.get(m.group(1), 'параметр')} «{m.group(2)}»."
    if isinstance(exc.extra, list) and exc.extra:
        problems = list(dict.fromkeys(_one_problem(e) for e in exc.extra if isinstance(e, dict)))
        if problems:
            return "Запрос содержит ошибку: " + "; ".join(problems) + "."
    return None


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    """The framework's own refusals (our code raises UserError): their English details are
    replaced by the Russian text of their status — for a malformed request, one that names
    what was wrong."""
    status = exc.status_code
    detail = validation_detail(exc) if status == 400 and isinstance(exc, ClientException) else None
    detail = detail or DEFAULT_DETAILS.get(status, TITLES.get(status, "Ошибка"))
    return error_response(request, status, detail, getattr(exc, "headers", None))


def handle_overflow(request: Request, exc: OverflowError) -> Response:
    # An id or a number beyond SQLite's 64-bit INTEGER, or a date beyond the calendar: bad input.
    return error_response(request, 400, "Число или дата вне допустимого диапазона. Проверьте введённые данные.")


def handle_user_error(request: Request, exc: UserError) -> Response:
    return error_response(request, exc.status_code, exc.message)


def handle_server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server log for the admin; the user sees no internals.
    # Request bodies are never logged: they may hold passwords or children's data.
    log.exception("Необработанная ошибка при %s %s", request.method, request.url.path)
    return error_response(request, 500, DEFAULT_DETAILS[500])


EXCEPTION_HANDLERS = {
    NotAuthorizedException: handle_not_authorized,
    PasswordChangeRequired: handle_password_change,
    UserError: handle_user_error,
    HTTPException: handle_http_exception,
    OverflowError: handle_overflow,
    500: handle_server_error,
    Exception: handle_server_error,
}
