"""Background work: the loops that run beside the surfaces, in the `worker` and `all` roles.

- `loop.py`      the loop runner (`start_workers`): expiry, retention and SNS-id sweepers, outbox
                 sender, drafts scheduler, webhook dispatcher
- `queue.py`     working a durable lease queue (waking, claiming, handing back)
- `outbox.py`    the outbox sender and its relay connection pool
- `drafts.py`    the drafts scheduler: sends scheduled (and approved) drafts when due
- `webhooks.py`  the webhook dispatcher: signed POSTs, retries, the attempt log
- `catchup.py`   the wait catch-up every process runs (missed bus events -> wake-ups)

Workers call services and `store/`; nothing in services imports from here.
"""

from inboxkit.workers.loop import WORKERS, start_workers

__all__ = ["WORKERS", "start_workers"]
