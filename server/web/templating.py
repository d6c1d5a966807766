"""The Jinja2 environment the pages and error pages share."""

from __future__ import annotations

from typing import Any

import jinja2
from litestar.response import Template

from .. import __version__
from ..accounts.roles import ROLE_LABELS
from ..paths import resource_dir
from ..timeutil import ru_date, ru_datetime


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ru_date"] = ru_date
    env.filters["ru_datetime"] = ru_datetime
    env.globals["ROLE_LABELS"] = ROLE_LABELS
    env.filters["role_label"] = lambda role: ROLE_LABELS.get(role, role)
    env.globals["app_version"] = __version__
    return env


def page(template: str, status_code: int = 200, **context: Any) -> Template:
    """A page or partial rendered with `context`; the template also sees `request`."""
    return Template(template_name=template, context=context, status_code=status_code)


def is_htmx(request) -> bool:
    return request.headers.get("hx-request") == "true"
