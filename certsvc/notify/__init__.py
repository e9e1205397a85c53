"""Notifications: reminder planning, the outbox, templates and the SMTP sender."""
