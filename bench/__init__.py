"""`make bench`: the gateway measured against the WhatsApp Web simulator, next to its physical floors."""
