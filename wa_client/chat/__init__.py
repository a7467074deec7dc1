"""Messaging in the page: send, look up, hear acks and replies.

hub (ChatHub: the session's side; results, listeners, the chat commands' names), worker (ChatWorker: the
session worker's hands: start jobs in the page, answer them from the probe), page_route (the same through the
page alone, when WhatsApp's modules are missing).
"""
