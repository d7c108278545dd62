"""Transport-level protections, as plain ASGI middleware so they see every byte and response.

- ``BodyLimit`` counts request body bytes as they arrive — chunked bodies included, whatever
  ``Content-Length`` claims — and answers 413 once a route's limit is passed, so no request can
  make the server hold more than the limit in memory.
- ``SecurityHeaders`` puts CSP (no inline script), Referrer-Policy, framing and sniffing rules on
  every response, including 413s and 500s; ``Cache-Control: no-store`` on anything a logged-in
  user receives; HSTS when the request came over HTTPS.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
UPLOAD_PATHS = ("/api/import", "/import", "/forum/import")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-body. An HTTPException, so frameworks that wrap body-parsing
    errors let it through and the app's one handler answers 413."""

    def __init__(self, limit: int) -> None:
        mb = max(1, limit // (1024 * 1024))
        super().__init__(413, f"リクエストが大きすぎます（上限 {mb} MB） / request body too large")


class BodyLimit:
    def __init__(self, app: ASGIApp, upload_limit: int, default_limit: int) -> None:
        self.app, self.upload_limit, self.default_limit = app, upload_limit, default_limit

    def limit_for(self, path: str) -> int:
        return self.upload_limit if path.startswith(UPLOAD_PATHS) else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)
        except Exception as exc:
            # Frameworks may wrap the error while parsing a body (multipart, JSON); find ours.
            if _caused_by(exc, BodyTooLarge) and not started:
                await _too_large(send, limit)
            else:
                raise


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, kind):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


async def _too_large(send: Send, limit: int) -> None:
    mb = max(1, limit // (1024 * 1024))
    body = json.dumps({"detail": f"リクエストが大きすぎます（上限 {mb} MB） / request body too large"},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp, session_cookie: str) -> None:
        self.app, self.session_cookie = app, session_cookie.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authenticated = b"authorization" in headers or self.session_cookie + b"=" in headers.get(b"cookie", b"")
        https = scope.get("scheme") == "https"
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"content-security-policy", CSP.encode()), (b"referrer-policy", b"same-origin"),
                         (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"cross-origin-opener-policy", b"same-origin")]
                if authenticated and not static:
                    extra.append((b"cache-control", b"no-store"))
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message = {**message, "headers": [*[(k, v) for k, v in message.get("headers", [])
                                                    if not (k.lower() == b"cache-control" and authenticated and not static)],
                                                  *[(k, v) for k, v in extra if k not in have or k == b"cache-control"]]}
            await send(message)

        await self.app(scope, receive, with_headers)


def attachment(filename: str) -> str:
    """A Content-Disposition value for any file name: an ASCII fallback that cannot end the quoted
    string or the header, and the real name percent-encoded (RFC 6266 / 5987)."""
    import re
    from urllib.parse import quote

    from matcher.text import one_line

    name = one_line(filename, 150) or "download"
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
