"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in the conformance test: bodies of the
`message/rfc822` type (`POST /inbound/raw`) are sent as the bytes generated, as for
`application/octet-stream`."""

import schemathesis

schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
