"""Emulated email-provider send APIs (DESIGN §11): an application's provider SDK, pointed at
inboxkit, has its mail captured instead of sent. Each provider is served under
`/esp/<provider>` and at the provider's own paths from the root."""
