"""Every error, whoever raised it, leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from inboxkit.errors import InboxKitError, QuotaExceeded

__all__ = ["install_error_handlers", "error_response"]

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> JSONResponse:
    """The error envelope, built in this one place. It is an ASGI app too, so middleware that
    answers before any route (`limits.py`, the `/mcp` endpoint) awaits it with
    `(scope, receive, send)`, and the connection guard (`connections.py`) writes its bytes."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _describe(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _routes(routes: Iterable[Any]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every HTTP route. Newer FastAPI keeps included routers as nodes
    (with `effective_route_contexts()`); older versions flatten them into routes."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if context.methods:
                    yield context.path, set(context.methods)
        elif getattr(route, "methods", None) and getattr(route, "path", None):
            yield route.path, set(route.methods)


def _literal_segments(path: str) -> int:
    return sum(1 for part in path.split("/") if part and not part.startswith("{"))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own 405 names only the
    methods of the first route whose path matched, and we declare one route per method.
    When templates of different specificity match (`…/messages/batch` and
    `…/messages/{message_id}`), the path is the most specific one's, as the document says."""
    table: list[tuple[re.Pattern[str], set[str], int]] | None = getattr(
        request.app.state, "method_table", None
    )
    if table is None:
        table = [
            (compile_path(path)[0], methods, _literal_segments(path))
            for path, methods in _routes(request.app.routes)
        ]
        request.app.state.method_table = table
    path = request.scope.get("path", "")
    matched = [(methods, literal) for regex, methods, literal in table if regex.match(path)]
    if not matched:
        return []
    best = max(literal for _, literal in matched)
    return sorted(set().union(*(methods for methods, literal in matched if literal == best)))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InboxKitError)
    async def _domain(request: Request, exc: InboxKitError) -> JSONResponse:
        if isinstance(exc, QuotaExceeded):
            runtime = getattr(request.app.state, "runtime", None)
            if runtime is not None:
                runtime.metrics.quota_refusals.labels(exc.limit or "unknown").inc()
        return error_response(exc.status, exc.code, exc.message, exc.headers, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "bad_request", "The request body is not valid JSON.")
        return error_response(422, "validation_error", _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(
            exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = "No such route; see /openapi.json."
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            allowed = allowed_methods(_request) or headers.get("Allow", "").split(", ")
            headers["Allow"] = ", ".join(allowed)
            message = f"That method is not allowed here; use {' or '.join(allowed)}."
        return error_response(exc.status_code, code, message, headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on the server.")
