"""certsvc: client-certificate lifecycle management for a client-certificate login gateway."""

__version__ = "0.1.0"
