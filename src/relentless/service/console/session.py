"""Signing in to the console: the token is kept in a Secure, HttpOnly, SameSite=Strict
cookie, and every form carries a CSRF token derived from it (an HMAC), checked on every
POST, so that another site can neither read the session nor post with it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

from relentless.service.keys import TOKENS
from relentless.tokens import NamedToken, Scope

COOKIE = "relentless_session"
CSRF_FIELD = "csrf"
SIGN_IN = "/ui/sign-in"

Page = Callable[[web.Request, NamedToken], Awaitable[web.StreamResponse]]


def csrf_token(session: NamedToken) -> str:
    """The token every form of this session carries: only someone holding the session's
    secret can compute it, and it is the same on every node."""
    return hmac.new(session.token.encode(), b"relentless console csrf",
                    hashlib.sha256).hexdigest()


def signed_in(request: web.Request) -> NamedToken | None:
    """The session's token, if the cookie holds one that may read."""
    presented = request.cookies.get(COOKIE)
    if not presented:
        return None
    named = request.app[TOKENS].identify(presented)
    if named is None or not named.granted & {Scope.VIEWER, Scope.ADMIN}:
        return None
    return named


def page(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A console page: signed-in callers only; others are sent to sign in."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        session = signed_in(request)
        if session is None:
            raise web.HTTPSeeOther(f"{SIGN_IN}?next={request.rel_url.path_qs}")
        return await handler(request, session)

    guarded.__name__ = handler.__name__
    return guarded


def refused(request: web.Request, status: int, message: str) -> web.Response:
    """The page that says an action was refused before it ran, and why."""
    return aiohttp_jinja2.render_template("refused.html", request, {"message": message},
                                          status=status)


def action(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A console form's POST: signed in, the form's CSRF token right, and the admin
    scope (a viewer sees every page and may change nothing)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        session = signed_in(request)
        form = await request.post()
        if session is None:
            return refused(request, 401, "sign in first")
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(session)):
            return refused(request, 403,
                           "the form's CSRF token is missing or wrong; reload the page")
        if Scope.ADMIN not in session.granted:
            return refused(request, 403, f"the token {session.name!r} may only read: "
                                         "a viewer changes nothing")
        return await handler(request, session)

    guarded.__name__ = handler.__name__
    return guarded


def set_session(response: web.StreamResponse, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, secure=True, samesite="Strict",
                        path="/ui")


def end_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/ui")
