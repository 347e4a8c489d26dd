"""Every process creates the rows it relies on at start-up (the seeded plans, the admin account)
when they are missing; several processes starting at once against one empty database must all
come up, with each row created once."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.services.auth import ADMIN_ACCOUNT_ID, AuthService
from inboxkit.store.db import Database
from inboxkit.store.plans import SEEDED
from inboxkit.store.tables import accounts, plans


async def test_processes_starting_at_once_each_create_the_admin_account_and_plans_once(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"admin_key": "start-up-admin-key-0123456789"})
    # One handle per "process": each has its own pool, as separate processes would.
    handles = [Database(settings.effective_database_url) for _ in range(4)]
    try:
        for db in handles:  # connected already, so that the four really start together
            async with db.write() as conn:
                await conn.execute(sa.select(1))
        for _ in range(5):
            async with handles[0].write() as conn:
                await conn.execute(accounts.delete().where(accounts.c.id == ADMIN_ACCOUNT_ID))
                await conn.execute(plans.delete().where(plans.c.name.in_(list(SEEDED))))
            await asyncio.gather(
                *(AuthService(settings, db).ensure_admin_account() for db in handles)
            )

        async with handles[0].read() as conn:
            admins = (
                await conn.execute(
                    sa.select(sa.func.count()).where(accounts.c.id == ADMIN_ACCOUNT_ID)
                )
            ).scalar_one()
            names = list((await conn.execute(sa.select(plans.c.name))).scalars())
        assert admins == 1
        assert sorted(name for name in names if name in SEEDED) == sorted(SEEDED)
    finally:
        for db in handles:
            await db.close()
