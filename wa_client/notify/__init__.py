"""Telling the outside: webhooks (journalled on disk) and Apprise notifications to a person."""
