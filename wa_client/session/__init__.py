"""The one session: its record, the runner and worker that own the browser, the commands and their table.

client (the thin front: the CRM's commands and the views), record (SessionRecord: state, QR, account,
history; one writer), runner (SessionRunner: each generation's browser and worker; the record's writer),
launch (the browser's launch and teardown), worker (SessionWorker: observe -> decide -> act), decide
(the Page x State table), commands (the COMMANDS table), command_queue (a worker's commands), ports
(the Protocols the parts meet through), recovery (autostart, restart after a crash), bus (EventBus).
"""
