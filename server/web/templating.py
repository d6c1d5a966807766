"""The Jinja2 environment the pages and error pages share."""

from __future__ import annotations

import json

from typing import Any

import jinja2
from litestar.response import Template

from .. import __version__
from ..accounts.roles import ROLE_LABELS
from ..paths import resource_dir
from ..timeutil import ru_date, ru_datetime


class _ProcessBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process: an app made again in the same
    process (the tests make hundreds) does not parse and compile its 60-odd templates again."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _ProcessBytecodeCache()


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        bytecode_cache=_BYTECODE,
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the program and change only with it: no stat() of every
        # template file on every page.
        auto_reload=False,
    )
    env.filters["ru_date"] = ru_date
    env.filters["ru_datetime"] = ru_datetime
    env.globals["ROLE_LABELS"] = ROLE_LABELS
    env.filters["role_label"] = lambda role: ROLE_LABELS.get(role, role)
    env.filters["period_label"] = period_label
    env.filters["audit_value"] = audit_value
    env.globals["app_version"] = __version__
    return env


def compile_all(env: jinja2.Environment) -> int:
    """Compile every template now, at start-up, not on its first page: the first teacher to
    open a page does not wait, and the compiled code is there before `settle_memory`."""
    names = env.list_templates(extensions=["html", "txt", "svg"])
    for name in names:
        env.get_template(name)
    return len(names)


def period_label(kind: str, number: int) -> str:
    return {"quarter": f"{number} четв.", "trimester": f"{number} трим.", "half": f"{number} полуг.", "year": "Год"}.get(kind, kind)


def audit_value(text: str | None, work_types: dict[str, str] | None = None) -> str:
    """An audit entry's JSON as a person reads it: '5 (контрольная работа)', 'Н'.

    `work_types` (code → name): a grade is shown with its work type, so that a change of the
    work type alone reads «5 (урок) → 5 (контрольная работа)», not «5 → 5»."""
    if not text:
        return "—"
    data = json.loads(text)
    if not isinstance(data, dict):
        return str(data)
    if work_types and data.get("value") and data.get("work_type"):
        return f"{data['value']} ({work_types.get(data['work_type'], data['work_type'])})"
    for key in ("value", "mark", "topic", "text"):
        if key in data and data[key]:
            return str(data[key])
    return ", ".join(f"{k}: {v}" for k, v in data.items() if v not in (None, ""))


def page(template: str, status_code: int = 200, **context: Any) -> Template:
    """A page or partial rendered with `context`; the template also sees `request`."""
    return Template(template_name=template, context=context, status_code=status_code)


def is_htmx(request) -> bool:
    return request.headers.get("hx-request") == "true"
