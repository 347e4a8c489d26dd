"""docs/conversations.md runs as written: its Python blocks one after another as one script
(they share variables, as a reader following the page does), each ```text block after a
Python block being what that block prints; then its shell blocks one after another in one
bash session. Both against a real server, with an account's API key, on every backend.

The page uses the server's default ports (HTTP 8025, SMTP 2525); here they are the test
server's."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.client.test_docs import _env, _localise, _run, _snippets
from tests.helpers import RunningServer

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "conversations.md"
SNIPPETS = _snippets("docs/conversations.md", GUIDE.read_text())
# Shown, not run: sample answers of the API.
SHOWN = {"json"}


def test_every_block_of_the_guide_is_run_or_a_sample_answer() -> None:
    kinds = {s.lang for s in SNIPPETS}
    assert kinds <= {"python", "sh"} | SHOWN, kinds
    assert sum(s.lang == "python" for s in SNIPPETS) >= 6
    assert sum(s.lang == "sh" for s in SNIPPETS) >= 5


async def test_the_python_walkthrough_runs_and_prints_what_the_page_shows(
    server: RunningServer, tmp_path: Path
) -> None:
    blocks = [s for s in SNIPPETS if s.lang == "python"]
    marker = "\n# ---- block ----\n"
    script = marker.join(f'print("<<{s.where}>>")\n{s.code}' for s in blocks)
    env = _env(server)
    env["INBOXKIT_API_KEY"] = await server.create_key("conversations guide")
    code, out, err = await _run(
        sys.executable, "-c", _localise(script, server), env=env, cwd=tmp_path
    )
    assert code == 0, f"docs/conversations.md failed:\n{out}\n{err}"
    printed: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("<<") and line.endswith(">>"):
            current = line[2:-2]
            printed[current] = ""
        elif current is not None:
            printed[current] += line + "\n"
    for block in blocks:
        if block.expected_output is not None:
            assert printed[block.where].strip() == block.expected_output.strip(), block.where


async def test_the_shell_walkthrough_runs_in_one_session(
    server: RunningServer, tmp_path: Path
) -> None:
    blocks = [s for s in SNIPPETS if s.lang == "sh"]
    env = _env(server)
    env["INBOXKIT_API_KEY"] = await server.create_key("conversations guide")
    script = "\n".join(_localise(block.code, server) for block in blocks)
    code, out, err = await _run("bash", "-euo", "pipefail", "-c", script, env=env, cwd=tmp_path)
    assert code == 0, f"docs/conversations.md (shell) failed:\n{out}\n{err}"
    lines = out.splitlines()
    assert '["billing","todo"]' in lines  # the PATCH answer's labels
    assert any(
        line.startswith('{"subject":"Invoice 77 is wrong","message_count":2') for line in lines
    )
    assert "403" in lines  # the agent's token approving its own draft
    assert any("Not sent" in line and "awaiting approval" in line for line in lines)
    assert "scheduled" in lines
