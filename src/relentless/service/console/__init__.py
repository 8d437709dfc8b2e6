"""The operator console at /ui: server-rendered pages (Jinja2, autoescaped) and a little
vendored htmx for live refresh, all shipped in the package; nothing is fetched from
the internet at run time."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from relentless.service.console import forms, views

STATIC = Path(__file__).parent / "static"


def install(app: web.Application) -> None:
    """Add the console's pages, forms and static files to the api role's app."""
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("relentless.service.console",
                                                          "templates"),
                         autoescape=True, undefined=jinja2.StrictUndefined)
    pages = [("/ui", views.overview), ("/ui/workflows", views.workflows),
             ("/ui/workflows/{workflow_id:\\d+}", views.workflow),
             ("/ui/incidents", views.incidents), ("/ui/manual", views.manual_steps),
             ("/ui/definitions", views.definitions),
             ("/ui/definitions/{name}/{version:\\d+}", views.definition),
             ("/ui/sign-in", forms.sign_in_page)]
    for path, handler in pages:
        app.router.add_get(path, handler, name=f"console_{handler.__name__}")
    posts = [("/ui/sign-in", forms.sign_in), ("/ui/sign-out", forms.sign_out),
             ("/ui/workflows/{workflow_id:\\d+}/move", forms.move),
             ("/ui/workflows/{workflow_id:\\d+}/cancel", forms.cancel),
             ("/ui/workflows/{workflow_id:\\d+}/retry", forms.retry),
             ("/ui/manual/{job_id}/claim", forms.claim),
             ("/ui/manual/{job_id}/complete", forms.complete),
             ("/ui/bulk", forms.bulk)]
    for path, handler in posts:
        app.router.add_post(path, handler, name=f"console_post_{handler.__name__}")
    app.router.add_static("/ui/static", STATIC, name="console_static")
