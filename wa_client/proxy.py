"""WA_PROXY_URL: Chromium reaches WhatsApp through an http://, https:// or socks5:// proxy."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https", "socks5")
#: Chromium's net errors that mean the proxy itself failed (not WhatsApp behind it).
PROXY_ERRORS = ("ERR_PROXY_", "ERR_TUNNEL_CONNECTION_FAILED", "ERR_SOCKS_CONNECTION_", "ERR_MANDATORY_PROXY_")

CREDENTIALS_REFUSED = (
    "WA_PROXY_URL must not carry a user name or password: Chromium takes no proxy credentials on its command "
    "line. Let the proxy allow this computer by its address, or run a local forwarding proxy that adds them"
)


def problem(url: str) -> str | None:
    """Why WA_PROXY_URL cannot be used (never echoing credentials), or None when it can."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "WA_PROXY_URL is not a valid URL (e.g. http://proxy.clinic.lan:3128 or socks5://127.0.0.1:1080)"
    if parts.username is not None or parts.password is not None:
        return CREDENTIALS_REFUSED
    if parts.scheme not in SCHEMES:
        return f"WA_PROXY_URL must start with http://, https:// or socks5:// (not {parts.scheme or 'nothing'}://)"
    if not parts.hostname:
        return "WA_PROXY_URL names no host (e.g. http://proxy.clinic.lan:3128)"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "WA_PROXY_URL is only scheme://host:port, without a path"
    return None if port is None or port > 0 else "WA_PROXY_URL has port 0"


def chromium_flags(url: str | None) -> list[str]:
    """--proxy-server for WA_PROXY_URL, and no bypass for loopback (all of the browser's traffic goes through it)."""
    if not url:
        return []
    parts = urlsplit(url.strip())
    server = f"{parts.scheme}://{parts.netloc}"
    # Chromium sends localhost and 127.0.0.1 around any proxy unless told "<-loopback>"; the gateway's browser
    # visits only WA_URL, and a proxy that was asked for must see all of it (a local WA_URL too).
    return [f"--proxy-server={server}", "--proxy-bypass-list=<-loopback>"]


def is_proxy_error(code: str | None) -> bool:
    """True for Chromium error codes that blame the proxy (ERR_PROXY_CONNECTION_FAILED, …)."""
    return bool(code) and code.upper().startswith(PROXY_ERRORS)
