"""The parts of /openapi.json that depend on how this server is configured, or that are checked
outside the request models.

The models say what any inboxkit accepts; a given server accepts less: only its own domains,
TTLs up to its `max_ttl_minutes`. The document must say what this server accepts (a client or a
schema-driven test that follows it must not be refused), so these limits are written into the
generated document once, when it is first served.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from inboxkit.api.schemas import EMAIL_PATTERN
from inboxkit.config import Settings
from inboxkit.mail.compose import SUBJECT_CHARS

__all__ = ["document_settings"]

NO_NUL_PATTERN = r"^[^\x00]*$"
SUBJECT_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]*$"  # one line: no controls but tab


def _nullable(schema: dict[str, Any], **constraints: Any) -> None:
    """Add `constraints` to the non-null branch of an `X | None` property schema."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") != "null":
            branch.update(constraints)


def _patch(document: dict[str, Any], settings: Settings) -> None:
    schemas = document["components"]["schemas"]
    domains = {"enum": list(settings.domains)}
    _nullable(schemas["MailboxCreate"]["properties"]["domain"], **domains)
    for name in ("MailboxCreate", "MailboxUpdate"):
        _nullable(schemas[name]["properties"]["ttl_minutes"], maximum=settings.max_ttl_minutes)
    for parameter in document["paths"]["/api/v1/handles/{handle}"]["get"]["parameters"]:
        if parameter["name"] == "domain":
            _nullable(parameter["schema"], **domains)
    # Sends are checked when the message is composed (services/outbound.py, mail/compose.py):
    # a body is required, and recipients must be plain addresses. Say so here.
    for name in ("SendRequest", "ReplyRequest"):
        for field in ("text", "html"):
            _nullable(schemas[name]["properties"][field], pattern=NO_NUL_PATTERN)
        schemas[name]["anyOf"] = [
            {"required": [field], "properties": {field: {"type": "string"}}}
            for field in ("text", "html")
        ]
    for field in ("text", "html"):
        _nullable(schemas["ForwardRequest"]["properties"][field], pattern=NO_NUL_PATTERN)
    send = schemas["SendRequest"]["properties"]
    send["subject"].update(pattern=SUBJECT_PATTERN, maxLength=SUBJECT_CHARS)
    for request in (send, schemas["ForwardRequest"]["properties"]):
        for field in ("to", "cc", "bcc"):
            for branch in request[field].get("anyOf", [request[field]]):
                if branch.get("type") == "array":
                    branch["items"]["pattern"] = EMAIL_PATTERN
                    if field == "to":
                        branch["minItems"] = 1
                else:
                    branch["pattern"] = EMAIL_PATTERN


def document_settings(app: FastAPI, settings: Settings) -> None:
    """Make `app.openapi()` describe this server's own limits."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _patch(document, settings)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
