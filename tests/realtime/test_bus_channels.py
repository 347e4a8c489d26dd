"""A webhook endpoint's attempt reports ride their own bus channel, apart from mailboxes."""

from inboxkit.bus import ALL, Channel, MemoryBus


async def test_attempt_report_reaches_its_webhook_channel_not_a_mailbox_with_the_same_id():
    bus = MemoryBus()
    same_id = "01J0000000000000000000000X"
    with (
        bus.subscribe(same_id) as mailbox,
        bus.subscribe(same_id, channel=Channel.WEBHOOK) as webhook,
        bus.subscribe(ALL) as everything,
    ):
        await bus.publish({"event": "webhook.attempt", "webhook_id": same_id, "final": True})
        assert [e["event"] for e in webhook.drain()] == ["webhook.attempt"]
        assert [e["event"] for e in everything.drain()] == ["webhook.attempt"]
        assert mailbox.drain() == []


async def test_mailbox_event_never_reaches_a_webhook_channel_with_the_same_id():
    bus = MemoryBus()
    same_id = "01J0000000000000000000000X"
    with (
        bus.subscribe(same_id) as mailbox,
        bus.subscribe(same_id, channel=Channel.WEBHOOK) as webhook,
    ):
        await bus.publish({"event": "mailbox.deleted", "mailbox_id": same_id, "mailbox": "a@b"})
        assert [e["event"] for e in mailbox.drain()] == ["mailbox.deleted"]
        assert webhook.drain() == []
        assert bus.watched_mailboxes() == [same_id]
        assert bus.subscriber_count(same_id) == 1
