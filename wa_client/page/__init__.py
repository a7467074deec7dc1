"""WhatsApp Web's tab: read it, listen to it, act on it.

probe (one script, one round trip: the DOM and the modules as plain data), recognise (which screen, through
each channel alone, then together), hooks (listeners installed in WhatsApp's modules), watch and watch_scripts
(listen, don't poll: the page wakes the worker), actions (PageActions: clicks and module calls behind one trap
guard), chat_scripts (what the probe reads of chats), qr (the QR image), account (who is linked).
"""
