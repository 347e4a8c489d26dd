"""Security headers of every web UI response, and the stricter policy of a message's HTML."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGE_CSP", "UiHeaders", "html_frame_csp", "is_ui_path"]

# The pages: our own scripts and styles only (no inline script or style), the message HTML in
# a frame from this origin, never framed themselves.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

UI_PREFIXES = ("/ui/", "/inbox/", "/static/")


def is_ui_path(path: str) -> bool:
    return path == "/" or path.startswith(UI_PREFIXES)


def html_frame_csp(images: bool) -> str:
    """The policy of a message's sanitised HTML, shown in `<iframe sandbox>`: no script, no
    network (remote images only once the person allowed them), framed by our page alone."""
    img = "img-src data: http: https:" if images else "img-src data:"
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; {img}; font-src 'none'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox"
    )


class UiHeaders:
    """ASGI middleware: the UI's headers on every response under `/`, `/ui/`, `/inbox/` and
    `/static/` (errors included). A route that sets its own Content-Security-Policy (the
    message frame) keeps it, with `X-Frame-Options: SAMEORIGIN`; every other is `DENY`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in _COMMON}
                ]
                policy = next(
                    (v for k, v in headers if k.lower() == b"content-security-policy"), None
                )
                if policy is None:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                framed = policy is not None and b"frame-ancestors 'self'" in policy
                frame = b"SAMEORIGIN" if framed else b"DENY"
                headers.append((b"x-frame-options", frame))
                headers.extend(_COMMON)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
