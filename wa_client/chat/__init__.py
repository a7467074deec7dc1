"""Messaging in the page: send, look up, hear acks and replies (the worker's hands and the hub)."""
