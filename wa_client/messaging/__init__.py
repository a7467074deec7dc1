"""The outbox: the CRM's messages stored, sent one at a time under the clinic's safeguards, and followed to read.

Built in app.py's create_app beside the session; it takes the session through `ports.Session` and hears it
through the session's bus (never a callback). Its modules:
- outbox: the CRM's side (submit, read, cancel, pause/resume), composing the parts below;
- ports: the `Session` Protocol, exactly what messaging needs from the session;
- policy: pure rules over a clock: send_at, gap, caps, failures in a row, quiet hours, the reach-out lock;
- sender: the loop, in turns: apply what was heard, settle, pick the due message, key it, send, settle failures;
- ledger: the ack ledger, queueing the bus's chat events (acks, replies, the notice) for the sender's turn;
- store: the outbox's SQLite file (outgoing and incoming messages, the pause);
- settle: exactly once: the id stored before the send, and unsure sends settled from WhatsApp's record;
- reminders: scheduling, cancelling, opt-outs, replies and the reach-out lock for the sender and the CRM;
- schedule, opt_outs: their records in the outbox's file; contacts: whether a number has WhatsApp (cached).
"""
