"""The use cases every surface calls: mailboxes, messages, waits, sending, webhooks, auth."""
