"""Telling the outside: webhooks to the CRM (journalled on disk) and Apprise alerts to a person, on one queue.

alerts    Notifier: plain-word Apprise notices when WhatsApp is lost (rate-limited, never a secret in them)
webhooks  WebhookSender: every public event POSTed to WA_WEBHOOK_URL, signed, in order, retried for 24 h
journal   EventJournal: the webhook events kept in SQLite until their receiver answered 2xx
queue     BackgroundQueue: the one background worker both use (started on demand, items in order)
"""
