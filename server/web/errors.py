"""One place that turns exceptions into Russian error pages, htmx fragments or JSON."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect

from ..school.errors import SchoolError
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
_CYRILLIC = re.compile("[А-Яа-яЁё]")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def russian_detail(status: int, detail: str | None) -> str:
    """Our own exceptions carry Russian details; the framework's English ones are replaced."""
    if detail and _CYRILLIC.search(detail):
        return detail
    return DEFAULT_DETAILS.get(status, TITLES.get(status, "Ошибка"))


def error_response(request: Request, status: int, detail: str, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    if _is_api(request):
        return Response({"error": detail, "status": status}, status_code=status, headers=headers,
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
    return Response(body, status_code=status, headers=headers, media_type=MediaType.HTML)


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


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    return error_response(request, status, russian_detail(status, exc.detail), getattr(exc, "headers", None))


def handle_school_error(request: Request, exc: SchoolError) -> Response:
    return error_response(request, 400, exc.message)


def handle_server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server log for the admin; the user sees no internals.
    # Request bodies are never logged: they may hold passwords or children's data.
    log.exception("Необработанная ошибка при %s %s", request.method, request.url.path)
    return error_response(request, 500, DEFAULT_DETAILS[500])


EXCEPTION_HANDLERS = {
    NotAuthorizedException: handle_not_authorized,
    PasswordChangeRequired: handle_password_change,
    SchoolError: handle_school_error,
    HTTPException: handle_http_exception,
    500: handle_server_error,
    Exception: handle_server_error,
}
