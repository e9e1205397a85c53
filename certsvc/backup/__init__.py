"""Backup and restore: one encrypted, consistent archive of a certsvc installation."""
