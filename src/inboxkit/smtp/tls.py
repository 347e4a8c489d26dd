"""The SMTP listener's certificate for STARTTLS, reloaded when its files change.

Certificates are renewed every few weeks (ACME); a mail server that needs a restart to pick
up the new one drops sessions or serves an expired certificate. Each new connection asks for
the current context; the files are looked at (two `stat` calls) at most once a second, and a
changed pair is loaded into a new context. A pair that fails to load (a renewal caught half
written) leaves the previous context in use and is tried again on the next look.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from pathlib import Path

__all__ = ["Certificates", "CertificateError", "tls_details"]

log = logging.getLogger(__name__)

LOOK_EVERY_SECONDS = 1.0


class CertificateError(RuntimeError):
    """The configured certificate or key cannot be used (at start-up: the server stops)."""


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # RFC 8996: TLS 1.0 and 1.1 are deprecated; every maintained MTA speaks 1.2.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise CertificateError(
            f"cannot load the SMTP TLS certificate {cert} with key {key}: {exc}"
        ) from exc
    return context


class Certificates:
    """The current SSL context for `cert` and `key` (PEM files)."""

    def __init__(self, cert: Path, key: Path):
        self.cert, self.key = cert, key
        self._stamp = self._files_stamp()
        self._context = _context(cert, key)
        self._looked = time.monotonic()

    def _files_stamp(self) -> tuple[int, int, int, int]:
        try:
            c, k = os.stat(self.cert), os.stat(self.key)
        except OSError as exc:
            raise CertificateError(f"cannot read the SMTP TLS certificate or key: {exc}") from exc
        return (c.st_mtime_ns, c.st_size, k.st_mtime_ns, k.st_size)

    def context(self) -> ssl.SSLContext:
        now = time.monotonic()
        if now - self._looked >= LOOK_EVERY_SECONDS:
            self._looked = now
            try:
                stamp = self._files_stamp()
                if stamp != self._stamp:
                    self._context = _context(self.cert, self.key)
                    self._stamp = stamp
                    log.info("reloaded the SMTP TLS certificate %s", self.cert)
            except CertificateError as exc:
                log.warning("%s; still serving the previous certificate", exc)
        return self._context


def tls_details(ssl_object: object) -> dict[str, str] | None:
    """The protocol version and cipher of an encrypted session, for its messages' envelope."""
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    version = ssl_object.version()
    cipher = ssl_object.cipher()
    if version is None or cipher is None:
        return None
    return {"version": version, "cipher": cipher[0]}
