"""docs/faults.md runs as written: its shell blocks in order in one shell (they share
variables), its Python block as a script, against the test server and an account's key."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.client.test_docs import ROOT, _env, _localise, _run, _snippets
from tests.helpers import RunningServer

GUIDE = ROOT / "docs" / "faults.md"
SNIPPETS = _snippets("docs/faults.md", GUIDE.read_text())


async def test_the_guides_shell_blocks_run_in_order(server: RunningServer, tmp_path: Path):
    blocks = [s for s in SNIPPETS if s.lang == "sh"]
    assert len(blocks) >= 4
    env = _env(server)
    env["INBOXKIT_API_KEY"] = await server.create_key("docs")
    script = "\n".join(_localise(block.code, server) for block in blocks)
    code, out, err = await _run("bash", "-euo", "pipefail", "-c", script, env=env, cwd=tmp_path)
    assert code == 0, f"docs/faults.md failed:\n{out}\n{err}"
    refusal = "refused: 451 4.3.0 Local error in processing, try again later"
    assert f"attempt 1 {refusal}\nattempt 2 {refusal}\naccepted on attempt 3" in out
    compact = out.replace(" ", "")
    assert '"fired":2,"remaining":0,"exhausted":true' in compact
    assert "554 5.3.0 Content rejected" in out  # `faults show` of the CLI block


async def test_the_guides_python_block_runs(server: RunningServer, tmp_path: Path):
    (block,) = [s for s in SNIPPETS if s.lang == "python"]
    env = _env(server)
    env["INBOXKIT_API_KEY"] = await server.create_key("docs")
    code, out, err = await _run(
        sys.executable, "-c", _localise(block.code, server), env=env, cwd=tmp_path
    )
    assert code == 0, f"docs/faults.md failed:\n{err}"
    assert out.splitlines() == ["attempt 1 refused: 451", "fired: 1", "stored: Hi"]
