"""One gateway per port: the listening socket is bound here, without SO_REUSEPORT, and a taken port is named."""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

BACKLOG = 128
LISTEN_STATE = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortInUse(RuntimeError):
    """Another process listens on the port; the message says which when /proc tells."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; PortInUse when the port is taken (no SO_REUSEPORT: the kernel
    would otherwise split the connections between two gateways)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only lets a restart reuse TIME_WAIT
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            holder = port_holder(port)
            raise PortInUse(f"port {port} on {host} is already in use by {holder or 'another program'}; "
                            "stop it or set PORT to another port") from None
        raise
    return sock


def port_holder(port: int) -> str | None:
    """'pid N (command)' of a process listening on TCP `port`, from /proc; None when it cannot tell."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                    return f"pid {entry} ({_command(int(entry))})"
            except OSError:
                continue
    return None


def _listening_inodes(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN_STATE and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace") for a in raw.split(b"\0") if a)[:120] or "?"
