"""The diary: what a student and their parents see (§1.4.6-7, §4), and the printouts for
families who chose the paper diary (§3.3.5)."""

from .api import ROUTES as _API
from .routes import ROUTES as _PAGES

ROUTES = [*_PAGES, *_API]
