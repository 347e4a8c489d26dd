"""The data directory and the SQLite files in it are private to the service's user."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from inboxkit.config import Settings
from tests.helpers import start_server

DATABASE_FILES = ("inboxkit.db", "inboxkit.db-wal", "inboxkit.db-shm", "inboxkit.db.migrate.lock")


@pytest.fixture
def common_umask() -> Iterator[None]:
    """The usual 022: without our own modes, new folders would be 0755 and files 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _settings(data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        http_port=0,
        smtp_port=0,
        auto_migrate=True,
    )


async def _serve_and_receive(data_dir: Path) -> dict[str, int]:
    """Start the service on `data_dir`, take one message, and read the modes while it runs
    (the -wal and -shm files exist only while the database is open)."""
    async with start_server(_settings(data_dir)) as server:
        inbox = await server.create_inbox()
        errors, _ = await server.send(inbox["address"])
        assert errors == {}
        return {name: _mode(data_dir / name) for name in DATABASE_FILES}


async def test_new_data_directory_and_database_files_are_private(
    tmp_path: Path, common_umask: None
):
    data_dir = tmp_path / "srv" / "inboxkit"
    modes = await _serve_and_receive(data_dir)
    assert _mode(data_dir) == 0o700
    assert modes == dict.fromkeys(DATABASE_FILES, 0o600)


async def test_existing_data_directory_keeps_its_mode_and_gets_a_private_database(
    tmp_path: Path, common_umask: None
):
    data_dir = tmp_path / "chosen"
    data_dir.mkdir(mode=0o750)
    os.chmod(data_dir, 0o750)
    modes = await _serve_and_receive(data_dir)
    assert _mode(data_dir) == 0o750  # the operator's folder is left as it was
    assert modes == dict.fromkeys(DATABASE_FILES, 0o600)
