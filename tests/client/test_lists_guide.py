"""docs/lists.md runs as written: its shell block in one shell, its Python block as a script,
against the test server and an account's key."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.client.test_docs import ROOT, _env, _localise, _run, _snippets
from tests.helpers import RunningServer

GUIDE = ROOT / "docs" / "lists.md"
SNIPPETS = _snippets("docs/lists.md", GUIDE.read_text())


async def test_the_guides_shell_block_runs(server: RunningServer, tmp_path: Path):
    (block,) = [s for s in SNIPPETS if s.lang == "sh"]
    env = _env(server)
    env["INBOXKIT_API_KEY"] = key = await server.create_key("docs")
    code, out, err = await _run(
        "bash", "-euo", "pipefail", "-c", _localise(block.code, server), env=env, cwd=tmp_path
    )
    assert code == 0, f"docs/lists.md failed:\n{out}\n{err}"
    # `$(…)` keeps the block's id; the allow entry's is printed, then the table and `show`.
    allow_id, header, *rest = out.splitlines()
    assert header.split() == ["id", "type", "mailbox", "subdomains", "entry"]
    block_id = rest[1].split()[0]
    assert [r.split()[1:] for r in rest[:2]] == [
        ["allow", "all", "no", "alerts@bank.example"],
        ["block", "all", "yes", "bulk-mail.example"],
    ]
    assert rest[0].split()[0] == allow_id
    assert f"id          {block_id}" in out and "entry       bulk-mail.example" in out
    assert f"deleted list entry {block_id}" in err
    # What the block left behind: the allow entry alone.
    listed = await server.http.get("/lists", headers=server.auth(key))
    assert [e["entry"] for e in listed.json()["data"]] == ["alerts@bank.example"]


async def test_the_guides_python_block_runs(server: RunningServer, tmp_path: Path):
    (block,) = [s for s in SNIPPETS if s.lang == "python"]
    env = _env(server)
    env["INBOXKIT_API_KEY"] = key = await server.create_key("docs")
    code, out, err = await _run(
        sys.executable, "-c", _localise(block.code, server), env=env, cwd=tmp_path
    )
    assert code == 0, f"docs/lists.md failed:\n{err}"
    assert out.splitlines() == ["Deal blocked block list"]
    listed = await server.http.get("/lists", headers=server.auth(key))
    assert listed.json()["data"] == []
