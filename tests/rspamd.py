"""A real rspamd (Debian's `rspamd` package) for the tests, on a free port of 127.0.0.1.

Its configuration is written to a temporary directory and keeps rspamd fast to start and
off the network: rspamd's own rules, actions and scores are included from the package's
configuration directory, but none of its plugin modules' settings, so every Lua plugin
(RBLs, SURBL, SPF, DKIM, DMARC, fuzzy, the map downloads, anything needing Redis) stays
unconfigured and disabled; the C filters run are only `chartable` and `regexp`; DNS points
at a port where nothing answers; and the URL matcher gets a short list of top-level domains
instead of the public suffix list, whose compilation alone takes ten seconds. The GTUBE test
patterns are enabled: `XJS…` is rejected, `YJS…` gets `add header`, `ZJS…` `rewrite subject`.

rspamd refuses to run its workers as root unless told which user to switch to (`-u`/`-g`,
which would need that user to own the directory) or `--insecure`; the tests use the latter.

Missing `rspamd`: the test skips, saying how to install it, unless INBOXKIT_REQUIRE_RSPAMD=1
(CI), where it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

__all__ = ["GTUBE_REJECT", "GTUBE_ADD_HEADER", "Rspamd", "rspamd_binary", "unused_port"]

REQUIRE = os.environ.get("INBOXKIT_REQUIRE_RSPAMD") == "1"
HOW = "rspamd tests skipped: no `rspamd`; `apt-get install rspamd` to run them"
START_TIMEOUT = 30.0

GTUBE_REJECT = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_ADD_HEADER = "Y" + GTUBE_REJECT[1:]

_CONFIG = """
lua = "$RULESDIR/rspamd.lua";
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/actions.conf"
.include "$CONFDIR/groups.conf"
.include "$CONFDIR/composites.conf"
modules {{ path = "$PLUGINSDIR"; }}
options {{
    filters = "chartable,regexp";
    enable_test_patterns = true;
    url_tld = "{tld}";
    dns {{ nameserver = ["127.0.0.1:{dns_port}"]; timeout = 0.2s; retransmits = 0; }}
    hs_cache_dir = "$DBDIR/";
    cache_file = "$DBDIR/symbols.cache";
    control_socket = "$DBDIR/rspamd.sock mode=0600";
    tempdir = "$DBDIR";
}}
logging {{ type = "file"; filename = "$LOGDIR/rspamd.log"; level = "warning"; }}
worker "normal" {{ bind_socket = "127.0.0.1:{port}"; count = 1; task_timeout = 8s; }}
"""

# What the URL matcher knows as top-level domains: those the tests' messages use.
_TLDS = ["com", "net", "org", "test", "example", "invalid"]


def rspamd_binary() -> str | None:
    return shutil.which("rspamd")


def unused_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (as the kernel had it a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Rspamd:
    """One rspamd process in `directory`; `url` is its normal worker."""

    def __init__(self, directory: Path):
        binary = rspamd_binary()
        if binary is None:
            if REQUIRE:
                pytest.fail(HOW.replace("skipped", "required (INBOXKIT_REQUIRE_RSPAMD=1)"))
            pytest.skip(HOW)
        self.binary = binary
        self.directory = directory
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        for name in ("db", "run", "log", "local.d", "override.d"):
            (directory / name).mkdir(parents=True, exist_ok=True)
        (directory / "tld.dat").write_text("\n".join(_TLDS) + "\n")
        self.config = directory / "rspamd.conf"
        self.config.write_text(
            _CONFIG.format(port=self.port, dns_port=unused_port(), tld=directory / "tld.dat")
        )

    @property
    def log(self) -> str:
        parts = []
        for path in (self.directory / "log" / "rspamd.log", self.directory / "stderr.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)[-6000:]

    def start(self) -> None:
        """Starts rspamd and returns once its worker answers `/ping`."""
        argv = [self.binary, "--no-fork", "-c", str(self.config)]
        if os.geteuid() == 0:
            argv.append("--insecure")
        for name, value in (
            ("LOCAL_CONFDIR", self.directory),
            ("DBDIR", self.directory / "db"),
            ("RUNDIR", self.directory / "run"),
            ("LOGDIR", self.directory / "log"),
        ):
            argv += ["--var", f"{name}={value}"]
        with open(self.directory / "stderr.log", "ab") as stderr:
            # Its own session, so stop() can end the workers it forked along with it.
            self.process = subprocess.Popen(
                argv, stdout=stderr, stderr=stderr, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(f"rspamd exited with {self.process.returncode}:\n{self.log}")
                try:
                    if client.get(f"{self.url}/ping").text.strip() == "pong":
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"rspamd did not answer within {START_TIMEOUT}s:\n{self.log}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stops rspamd and its workers (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        try:  # workers that outlived their main process
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
