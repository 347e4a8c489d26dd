"""`inboxkit keys create|list|revoke` against a real database, run as the user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

INBOXKIT = Path(sys.executable).parent / "inboxkit"


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INBOXKIT), "keys", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(data_dir)},
    )


def test_keys_are_created_listed_and_revoked(tmp_path: Path):
    created = _run(tmp_path, "create", "--name", "ci", "--scope", "mailboxes:read", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["token"].startswith("ik_") and key["scopes"] == ["mailboxes:read"]

    listed = json.loads(_run(tmp_path, "list", "--json").stdout)
    assert [(k["id"], k["revoked_at"]) for k in listed] == [(key["id"], None)]
    assert all("token" not in k for k in listed)  # the secret is shown once only

    revoked = _run(tmp_path, "revoke", key["id"])
    assert revoked.returncode == 0, revoked.stderr
    (after,) = json.loads(_run(tmp_path, "list", "--json").stdout)
    assert after["revoked_at"] is not None


def test_revoking_an_unknown_key_fails_with_a_clear_error(tmp_path: Path):
    result = _run(tmp_path, "revoke", "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert result.returncode == 1
    assert "No such active key" in result.stderr


def test_an_unknown_scope_is_refused(tmp_path: Path):
    result = _run(tmp_path, "create", "--name", "x", "--scope", "everything")
    assert result.returncode == 1
    assert "Unknown scope" in result.stderr


def test_a_key_limited_to_test_mailboxes_is_created_in_the_named_account(tmp_path: Path):
    first = json.loads(_run(tmp_path, "create", "--name", "owner", "--json").stdout)
    created = _run(
        tmp_path, "create", "--name", "ci", "--account", first["account_id"], "--modes", "test",
        "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["account_id"] == first["account_id"] and key["modes"] == ["test"]
    listed = {k["id"]: k["modes"] for k in json.loads(_run(tmp_path, "list", "--json").stdout)}
    assert listed == {first["id"]: ["test", "agent"], key["id"]: ["test"]}


def test_an_unknown_mode_is_refused(tmp_path: Path):
    result = _run(tmp_path, "create", "--name", "x", "--modes", "test,prod")
    assert result.returncode == 2
    assert "'prod' is not a mode" in result.stderr
