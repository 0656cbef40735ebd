"""What keeps the page safe on a shared server: who is asking, and that they meant to.

- **Forms carry a CSRF token.** Each browser gets a random token in a cookie that only
  this site can read (``SameSite=Strict``); every form and every HTMX request sends it
  back (a hidden field or the ``X-CSRF-Token`` header) and a change is made only when
  the two match. A page elsewhere cannot read the cookie, so it cannot forge a request.
- **An optional trusted header names the user.** Behind a trust's reverse proxy that
  signs people in (``--user-header X-Remote-User``), a request without the header is
  refused and the name is recorded on the jobs the user starts. Without the option the
  page has no login, and should be reached only from this computer (the default) or a
  network where everyone may use it.
- **Every response says what the browser may do**: scripts and styles only from this
  site (no inline script), no framing, no guessing of content types.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "pathways_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The Content-Security-Policy of the application's own pages."""

REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)
"""The policy of a served report: its own inline styles and embedded images, no script."""


def new_token() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


def tokens_match(cookie: str | None, given: str | None) -> bool:
    """Whether a request's CSRF token is the one its browser was given."""
    if not cookie or not given:
        return False
    return secrets.compare_digest(cookie.encode(), given.encode())


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response.

    A response that sets its own ``Content-Security-Policy`` (a served report) keeps it.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = PAGE_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, sending)
