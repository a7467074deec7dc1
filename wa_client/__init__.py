"""The WhatsApp Web session client: one guarded Chromium, knowing nothing about Flask.

The packages, top to bottom; each imports only those below it (pyproject.toml's import-linter contracts):
- messaging: the outbox (stored messages, the send policy, the sender, acks, exactly-once) | notify: webhooks
  and Apprise notifications. Both hear the session through its bus and are built in app.py beside it.
- session: the one session: the CRM's commands, the record (one writer), the worker, recovery.
- chat: messaging inside the page (send, look up, acks and replies), the worker's hands and the hub.
- page: WhatsApp Web's tab: read (probe, recognise), listen (watch), act (actions), the QR, who is linked.
- browser: Chromium and chromedriver as processes, the profile directory, a Grid's browser.
- the base, imported by all and importing none of the above: config/ (Settings), states, names (events),
  jobs (a command for the worker), clock, polling, disk, sqlite_file, selectors (WhatsApp's signs), proxy.
"""

from wa_client.config import ConfigError, Settings
from wa_client.jobs import ActionError
from wa_client.session.client import ResetError, WhatsAppClient
from wa_client.states import RUNNING, STOPPED, TRANSITIONS, Reason, State, StateError

__all__ = [
    "WhatsAppClient", "ResetError", "StateError", "ActionError", "Settings", "ConfigError",
    "State", "Reason", "RUNNING", "STOPPED", "TRANSITIONS",
]
