"""pytest plugin: fixtures for testing email flows against inboxkit."""
