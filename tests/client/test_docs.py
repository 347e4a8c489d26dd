"""Every code block in docs/sdk.md and in the README's SDK and CLI sections runs, as written;
so does every Python and shell block of docs/capture.md, in order, as one reader would.

The docs use the server's default ports (HTTP 8025, SMTP 2525); here they are swapped for the
test server's. Kinds of block:
- python: a script, run with `python -c` against the test server; a ```text block right after
  it is its expected output (addresses and times may differ);
- python defining `test_…` functions: a test file, run by pytest in a fresh project (the plugin
  then starts its embedded server);
- sh: run by bash with the `inboxkit` command on PATH;
- ini: a pytest configuration, checked by running a test under it.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
README_SECTIONS = ("Test your signup flow in 10 lines", "Script it")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Snippet:
    where: str
    lang: str
    code: str
    expected_output: str | None = None

    @property
    def is_test_file(self) -> bool:
        return self.lang == "python" and re.search(r"^def test_", self.code, re.M) is not None


def _snippets(where: str, text: str) -> list[Snippet]:
    found: list[Snippet] = []
    for match in FENCE.finditer(text):
        lang, code = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if lang == "text":
            assert found and found[-1].lang == "python", f"{where}:{line}: output of what?"
            found[-1].expected_output = code
            continue
        found.append(Snippet(f"{where}:{line}", lang, code))
    return found


def _readme_sections() -> str:
    readme = (ROOT / "README.md").read_text()
    parts = []
    for title in README_SECTIONS:
        start = readme.index(f"\n## {title}\n")
        end = readme.find("\n## ", start + 1)
        parts.append(readme[start : end if end != -1 else None])
    return "\n".join(parts)


SNIPPETS = _snippets("docs/sdk.md", (ROOT / "docs" / "sdk.md").read_text()) + _snippets(
    "README.md", _readme_sections()
)
KNOWN = {"python", "sh", "ini"}


def _of(*, test_file: bool = False, lang: str = "python") -> list[pytest.param]:
    return [
        pytest.param(s, id=s.where)
        for s in SNIPPETS
        if s.lang == lang and (lang != "python" or s.is_test_file == test_file)
    ]


def _localise(code: str, server: RunningServer) -> str:
    code = code.replace("http://127.0.0.1:8025", server.base_url)
    return re.sub(r"\b2525\b", str(server.smtp_port), code)


def _env(server: RunningServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if server is not None:
        env["INBOXKIT_URL"] = server.base_url
    return env


async def _run(*argv: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _normalise(output: str) -> str:
    output = re.sub(r"[a-z]+-[a-z]+-\d+@inboxkit\.localhost", "ADDRESS", output)
    return re.sub(r"\d\d:\d\d:\d\dZ", "TIME", output).strip()


def test_every_block_is_of_a_kind_the_docs_test_runs() -> None:
    assert {s.lang for s in SNIPPETS} <= KNOWN, [s.where for s in SNIPPETS if s.lang not in KNOWN]
    assert any(s.where.startswith("README.md") for s in SNIPPETS)


@pytest.mark.parametrize("snippet", _of())
async def test_python_snippet_runs(snippet: Snippet, server: RunningServer, tmp_path: Path) -> None:
    env = _env(server)
    if "INBOXKIT_API_KEY" in snippet.code:  # it needs an account (sending does): give it a key
        env["INBOXKIT_API_KEY"] = await server.create_key("docs")
    code, out, err = await _run(
        sys.executable, "-c", _localise(snippet.code, server), env=env, cwd=tmp_path
    )
    assert code == 0, f"{snippet.where} failed:\n{err}"
    if snippet.expected_output is not None:
        assert _normalise(out) == _normalise(snippet.expected_output)


CAPTURE_GUIDE = ROOT / "docs" / "capture.md"


def _without_provider_sections(text: str) -> str:
    """docs/capture.md less its provider sections, whose snippets tests/esp runs (each needs its
    provider's SDK and credentials of its own)."""
    start = text.index("\n## Email provider SDKs\n")
    end = text.find("\n## ", start + 1)
    return text[:start] + (text[end:] if end != -1 else "")


CAPTURE_SNIPPETS = _snippets(
    "docs/capture.md", _without_provider_sections(CAPTURE_GUIDE.read_text())
)
CAPTURE_TEST_FILES = [pytest.param(s, id=s.where) for s in CAPTURE_SNIPPETS if s.is_test_file]


@pytest.mark.parametrize("snippet", _of(test_file=True) + CAPTURE_TEST_FILES)
def test_pytest_snippet_passes_with_the_embedded_server(
    snippet: Snippet, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("INBOXKIT_URL", "INBOXKIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_snippet=snippet.code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and "failed" not in outcomes, result.stdout.str()


@pytest.mark.parametrize("snippet", _of(lang="sh"))
async def test_shell_snippet_runs(snippet: Snippet, server: RunningServer, tmp_path: Path) -> None:
    code, out, err = await _run(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        _localise(snippet.code, server),
        env=_env(server),
        cwd=tmp_path,
    )
    assert code == 0, f"{snippet.where} failed:\n{out}\n{err}"


@pytest.mark.parametrize("snippet", _of(lang="ini"))
async def test_ini_snippet_configures_the_fixtures(
    snippet: Snippet,
    server: RunningServer,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("INBOXKIT_URL", "INBOXKIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(_localise(snippet.code, server))
    pytester.makepyfile(
        test_probe=f"""
def test_the_configured_server_is_used(inboxkit, inbox):
    assert inboxkit.url == {server.base_url!r}
    assert inbox.address.endswith("@inboxkit.localhost")
"""
    )
    result = await asyncio.to_thread(
        pytester.runpytest_subprocess, "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=1)


PLANS_GUIDE = ROOT / "docs" / "plans.md"


async def test_plans_guide_commands_run_in_order(server: RunningServer, tmp_path: Path) -> None:
    """docs/plans.md's `sh` blocks, one after another in one shell (they share variables), as
    the admin of the server its `bash` block starts (here: the test server and an admin key)."""
    blocks = [s for s in _snippets("docs/plans.md", PLANS_GUIDE.read_text()) if s.lang == "sh"]
    assert len(blocks) >= 4
    env = _env(server)
    env["INBOXKIT_API_KEY"] = await server.create_key("docs admin", scopes=["admin"])
    # `inboxkit keys create` opens the server's database itself, as on the server's machine.
    env["INBOXKIT_DATA_DIR"] = str(server.settings.data_dir)
    if server.settings.database_url:
        env["INBOXKIT_DATABASE_URL"] = server.settings.database_url
    script = "\n".join(_localise(block.code, server) for block in blocks)
    code, out, err = await _run("bash", "-euo", "pipefail", "-c", script, env=env, cwd=tmp_path)
    assert code == 0, f"docs/plans.md failed:\n{out}\n{err}"
    assert "plan free, period " in out  # `inboxkit usage` as the new account's key
    assert '"name":"team"' in out.replace(" ", "")  # the plan made over HTTP


async def _send_with_django_settings(code: str, env: dict[str, str]) -> None:
    """A Django settings block, executed, and its EMAIL_* values used as Django's SMTP backend
    uses them: connect, STARTTLS if EMAIL_USE_TLS, log in with the user and password, send."""
    namespace: dict[str, object] = {}
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        exec(code, namespace)  # noqa: S102 (the documented settings, run as Django would import them)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert namespace["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "no-reply@shop.example",
        "carol@example.com",
        "Sent with the Django settings",
    )
    message.set_content("Carol, your code is 918273.")
    await aiosmtplib.send(
        message,
        hostname=str(namespace["EMAIL_HOST"]),
        port=int(str(namespace["EMAIL_PORT"])),
        username=str(namespace["EMAIL_HOST_USER"]),
        password=str(namespace["EMAIL_HOST_PASSWORD"]),
        start_tls=bool(namespace["EMAIL_USE_TLS"]),
        timeout=30,
    )


async def test_capture_guide_runs_in_order(settings: Settings, tmp_path: Path) -> None:
    """docs/capture.md's Python and shell blocks, one after another, against a server with
    SMTP capture on (as `make serve` runs it): the key its first block creates is the
    INBOXKIT_API_KEY of the rest. Its pytest file runs in the test above."""
    blocks = [s for s in CAPTURE_SNIPPETS if s.lang in KNOWN and not s.is_test_file]
    assert [s.lang for s in blocks][:2] == ["sh", "python"]
    async with start_server(settings.model_copy(update={"smtp_capture": True})) as server:
        env = _env(server)
        env["INBOXKIT_DATA_DIR"] = str(server.settings.data_dir)
        if server.settings.database_url:
            env["INBOXKIT_DATABASE_URL"] = server.settings.database_url
        for block in blocks:
            code = _localise(block.code, server)
            if block.lang == "sh":
                status, out, err = await _run(
                    "bash", "-euo", "pipefail", "-c", code, env=env, cwd=tmp_path
                )
                assert status == 0, f"{block.where} failed:\n{out}\n{err}"
                if "keys create" in code:
                    env["INBOXKIT_API_KEY"] = out.strip()
            elif "EMAIL_BACKEND" in code:
                await _send_with_django_settings(code, env)
            else:
                status, out, err = await _run(sys.executable, "-c", code, env=env, cwd=tmp_path)
                assert status == 0, f"{block.where} failed:\n{err}"
                if block.expected_output is not None:
                    assert _normalise(out) == _normalise(block.expected_output), block.where
        # What the guide's application sent, each to its own address, is in the capture mailbox.
        key = env["INBOXKIT_API_KEY"]
        box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
        listed = await server.http.get(f"/mailboxes/{box['id']}/messages", headers=server.auth(key))
        recipients = sorted(to for m in listed.json()["data"] for to in m["to"])
        assert recipients == ["alice@example.com", "bob@example.com", "carol@example.com"]
