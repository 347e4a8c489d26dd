"""`inboxkit migrate` on an empty database reaches the newest revision, with a schema that
matches the table definitions; a second run changes nothing; concurrent runs all succeed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inboxkit.store.db import Database
from inboxkit.store.migrate import alembic_config
from inboxkit.store.search import outside_metadata
from inboxkit.store.tables import accounts, metadata, utcnow
from tests.databases import INBOXKIT, command_env, fresh_postgres_database


@pytest.fixture
async def target(backend: str, tmp_path: Path) -> AsyncIterator[tuple[list[str], str]]:
    """(the flags naming an empty database, its SQLAlchemy URL)."""
    if backend == "sqlite":
        data_dir = tmp_path / "data"
        yield ["--data-dir", str(data_dir)], f"sqlite+aiosqlite:///{data_dir / 'inboxkit.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield ["--database-url", url], url


async def _migrate(flags: list[str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        INBOXKIT,
        "migrate",
        *flags,
        env=command_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode(errors="replace")


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head
    return head


def _schema_problems(connection: sa.Connection) -> list[Any]:
    # The full-text index is made by its migration outside the table definitions.
    context = MigrationContext.configure(
        connection,
        opts={"include_name": lambda name, kind, _: not outside_metadata(name, kind)},
    )
    return compare_metadata(context, metadata)


def _schema(connection: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted(_index(i) for i in inspector.get_indexes(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def _index(index: Any) -> str:
    """An index as comparable text (a partial index's condition is an object: its SQL)."""
    options = {k: str(v) for k, v in index.get("dialect_options", {}).items()}
    return str(sorted({**index, "dialect_options": options}.items()))


async def _inspect(url: str) -> tuple[str | None, list[Any], dict[str, Any]]:
    """(current revision, differences from tables.py, a schema snapshot)."""
    db = Database(url)
    try:
        async with db.read() as conn:
            version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            problems = await conn.run_sync(_schema_problems)
            schema = await conn.run_sync(_schema)
    finally:
        await db.close()
    return version, problems, schema


async def test_migrate_on_an_empty_database_reaches_head_matching_the_tables(target):
    flags, url = target
    code, output = await _migrate(flags)
    assert code == 0, output
    version, problems, schema = await _inspect(url)
    assert version == _head(url)
    assert problems == [], f"the migrated schema differs from tables.py: {problems}"
    assert {"accounts", "api_keys", "mailboxes", "contents", "messages"} <= set(schema)


async def test_running_migrate_twice_is_a_no_op(target):
    flags, url = target
    assert (await _migrate(flags))[0] == 0
    db = Database(url)
    try:
        async with db.write() as conn:
            await conn.execute(
                accounts.insert().values(id="0" * 25 + "1", name="survivor", created_at=utcnow())
            )
    finally:
        await db.close()
    before = await _inspect(url)
    code, output = await _migrate(flags)
    assert code == 0, output
    assert await _inspect(url) == before
    db = Database(url)
    try:
        async with db.read() as conn:
            names = (await conn.execute(sa.select(accounts.c.name))).scalars().all()
    finally:
        await db.close()
    assert names == ["survivor"]


async def test_three_processes_migrating_at_once_all_succeed(target):
    flags, url = target
    results = await asyncio.gather(*(_migrate(flags) for _ in range(3)))
    for code, output in results:
        assert code == 0, output
    version, problems, _ = await _inspect(url)
    assert version == _head(url)
    assert problems == []
