"""The one session: its record, the worker that owns the driver, the commands and their table."""
