"""WhatsApp Web's tab: read it (probe, recognise), listen to it (watch), act on it (actions)."""
