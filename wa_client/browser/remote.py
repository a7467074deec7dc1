"""A browser on a Selenium Grid (WA_REMOTE_URL): where its profile lives on the node, and how a reset clears it.

On a real Grid the Chromium profile (the saved login) is on the node's disk, out of the gateway's reach. So:

- each link gets its own profile path on the node, `WA_PROFILE_DIR/link-<random>`, remembered in a small
  state file in the local `WA_PROFILE_DIR`: a restart reuses it (the login comes back without a scan), a
  Force Reset or a phone logout forgets it (the next Generate QR starts on a new, empty path);
- before such a browser is quit, WhatsApp's storage is cleared inside it through the Grid (CDP: cookies,
  localStorage, IndexedDB, service workers, caches), so the old path holds no login either;
- when no browser is open (a reset after a restart, or in the middle of a start), the old path is opened
  once on the node just to clear it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wa_client.config import Settings
from wa_client.polling import poll_until

logger = logging.getLogger(__name__)

STATE_FILE = "wa-gateway-remote.json"
LINK_PREFIX = "link-"
#: Origins whose storage a reset clears besides WA_URL's and the open page's (WhatsApp Web's own).
WHATSAPP_ORIGINS = ("https://web.whatsapp.com", "https://www.whatsapp.com", "https://whatsapp.com")
BLANK_WAIT_S = 5.0


def _state_path(local_dir: str | os.PathLike) -> Path:
    return Path(local_dir) / STATE_FILE


def _read(local_dir: str | os.PathLike) -> dict:
    try:
        state = json.loads(_state_path(local_dir).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and isinstance(state.get("profile_dir"), str) else {}


def _write(local_dir: str | os.PathLike, state: dict) -> None:
    target = _state_path(local_dir)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.chmod(tmp, 0o600)
    tmp.replace(target)


def node_profile(local_dir: str | os.PathLike) -> str:
    """The node-side --user-data-dir of the current link; a new random one when there is none yet."""
    state = _read(local_dir)
    if state:
        return state["profile_dir"]
    path = os.path.join(str(local_dir), LINK_PREFIX + secrets.token_hex(8))
    try:
        _write(local_dir, {"profile_dir": path, "used": False})
    except OSError as exc:  # the start goes on; the next one gets a new path (the login is not kept)
        logger.warning("could not remember the remote profile path: %s", exc)
    return path


def mark_used(local_dir: str | os.PathLike, node_dir: str) -> None:
    """A browser ran on `node_dir`: a later reset must clear it even without a live browser."""
    state = _read(local_dir)
    if state.get("profile_dir") == node_dir and not state.get("used"):
        try:
            _write(local_dir, {**state, "used": True})
        except OSError as exc:
            logger.warning("could not update the remote profile record: %s", exc)


def origins_to_clear(wa_url: str, page_url: str | None) -> list[str]:
    """WA_URL's origin, the open page's, and WhatsApp Web's own, without duplicates."""
    found = [_origin(wa_url), _origin(page_url or ""), *WHATSAPP_ORIGINS]
    return [o for i, o in enumerate(found) if o and o not in found[:i]]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def clear_login(driver: Any, wa_url: str) -> None:
    """Leave WhatsApp's page and clear every storage of its origins in this browser; raises on failure.

    The page is left first (about:blank), so that WhatsApp cannot write its keys back after the clearing.
    """
    page_url = None
    try:
        page_url = driver.current_url
    except Exception as exc:  # noqa: BLE001 - the page may be navigating; the origins are known anyway
        logger.debug("could not read the page's address before clearing: %s", exc)
    driver.get("about:blank")
    if not poll_until(lambda: driver.execute_script("return document.URL") == "about:blank", BLANK_WAIT_S):
        raise TimeoutError("WhatsApp's page did not close")
    _cdp(driver, "Network.clearBrowserCookies", {})
    for origin in origins_to_clear(wa_url, page_url):
        _cdp(driver, "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    _cdp(driver, "Network.clearBrowserCache", {})


def _cdp(driver: Any, command: str, params: dict) -> Any:
    """One Chrome DevTools command through WebDriver (a Selenium 4 Grid forwards goog/cdp/execute)."""
    return driver.execute("executeCdpCommand", {"cmd": command, "params": params})["value"]


def clear_live(browser: Any, wa_url: str) -> bool:
    """Clear the login inside a live remote browser before it is quit; False when that was not possible."""
    driver = getattr(browser, "driver", None)
    if driver is None:
        return False
    try:
        clear_login(driver, wa_url)
    except Exception as exc:  # noqa: BLE001 - end_link opens the profile again to clear it
        logger.warning("could not clear the login in the remote browser: %s", _first_line(exc))
        return False
    logger.info("cleared the login in the remote browser before quitting it")
    return True


def end_link(settings: Settings, local_dir: str | os.PathLike, cleared: bool) -> str | None:
    """Forget the current link (the next start gets a new node path); clear the old one if still needed.

    Returns None when no login can be left on the node, else words saying what is left and where.
    """
    state = _read(local_dir)
    _state_path(local_dir).unlink(missing_ok=True)
    if not state or cleared or not state.get("used"):
        return None
    node_dir = state["profile_dir"]
    try:
        wipe(settings, node_dir)
    except Exception as exc:  # noqa: BLE001 - any failure: the login may still be on the node
        logger.error("could not clear the remote profile %s: %s", node_dir, _first_line(exc))
        return (f"the saved login on the Grid node could not be cleared ({_first_line(exc)}); the next "
                f"Generate QR uses a new profile, but delete {node_dir} on the node, or click Force Reset "
                "again once the Grid answers")
    logger.info("cleared the remote profile of the previous link")
    return None


def wipe(settings: Settings, node_dir: str) -> None:
    """Open `node_dir` on the node in a browser of its own, clear the login in it, quit it."""
    from wa_client.browser.driver import Browser  # browser imports config; this module is imported by the client only

    browser = Browser(settings, node_dir)
    try:
        browser.launch("about:blank")
        clear_login(browser.driver, settings.wa_url)
    finally:
        browser.quit(graceful=False)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "msg", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
