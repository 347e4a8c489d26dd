"""`store.db.retryable` recognises PostgreSQL aborting a transaction over a deadlock, the case
in which a service runs its transaction again (a webhook's deletion against the dispatchers)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from inboxkit.store.db import Database, retryable
from tests.databases import PG_URL, fresh_postgres_database

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs INBOXKIT_TEST_DATABASE_URL")


async def test_a_real_deadlock_is_retryable_and_other_errors_are_not():
    async with fresh_postgres_database() as url:
        db = Database(url)
        try:
            async with db.write() as conn:
                await conn.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
                await conn.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
            both_hold_one = asyncio.Barrier(2)

            async def lock_in_order(first: int, second: int) -> BaseException | None:
                try:
                    async with db.write() as conn:
                        await conn.execute(
                            sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first}
                        )
                        await both_hold_one.wait()
                        await conn.execute(
                            sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second}
                        )
                except Exception as exc:
                    return exc
                return None

            outcomes = await asyncio.gather(lock_in_order(1, 2), lock_in_order(2, 1))
            (aborted,) = [outcome for outcome in outcomes if outcome is not None]
            assert retryable(aborted)
            with pytest.raises(sa.exc.DBAPIError) as duplicate:
                async with db.write() as conn:
                    await conn.execute(sa.text("INSERT INTO pair VALUES (1, 0)"))
            assert not retryable(duplicate.value)
            assert not retryable(ValueError("not a database error"))
        finally:
            await db.close()
