"""Listen, don't poll: a watcher in the page says when something that matters changed (docs/whatsapp-web.md,
"Listening to the page").

The watcher is installed by the first wait on each page load. It keeps a cheap signature of the page (chat
list, QR canvas and its data-ref, dialogs, progress, startup screen, link code, title, the app's outline)
that a throttled MutationObserver recomputes, and it listens to WhatsApp's own module events. A change calls
`window.__waGateway.wake(reason)`, which queues the reason in `window.__waGateway.woken` and ends the
worker's wait: an `execute_async_script` that returns on the first wake or after a short bound, so it works
the same with a local chromedriver and through a Selenium Grid. Anyone in the page may call `wake`
(WAKE_JS does it safely before the watcher exists); the worker's own side calls `Listener.nudge`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .browser import Browser

logger = logging.getLogger(__name__)

THROTTLE_MS = 40  # the signature is recomputed at most this often while the DOM changes
HOOK_EVERY_MS = 1000  # how often a wait looks again for modules that load on demand
MAX_REASONS = 100  # the page keeps at most this many unread wake reasons
FAILED_WAIT_PAUSE_S = 0.05  # after a wait that failed (the page navigated), before the probe looks
EXTRA_WAIT_S = 2.0  # a wait's WebDriver timeout beyond its own bound: a frozen page fails the wait, not the worker

#: Page side: `wake(reason)` that is safe before and after the watcher exists (for other page scripts).
WAKE_JS = ("((r) => { try { const g = window.__waGateway = window.__waGateway || {}; if (typeof g.wake === "
           "'function') g.wake(r); else (g.woken = g.woken || []).push(String(r)); } catch (e) { /* never */ } })")

#: Module events that wake the worker: [signs key of the module, its default name, export, events, reason].
MODULE_EVENTS = [
    ["SOCKET_MODULE", "WAWebSocketModel", "Socket", ["change:state", "change:stream", "change:hasSynced"], "socket"],
    ["STREAM_MODULE", "WAWebStreamModel", "Stream", ["change:mode", "change:state", "change:displayInfo"], "stream"],
    ["CONN_MODULE", "WAWebConnModel", "Conn", ["change:ref", "change:wid"], "conn"],
    ["CMD_MODULE", "WAWebCmd", "Cmd", ["logout", "logout_from_bridge"], "logout"],
    ["COLLECTIONS_MODULE", "WAWebCollections", "Msg", ["add", "change:ack"], "message"],
]

#: The watcher and one wait. arguments: [signs (probe_args), wait in ms, settings of the watcher, done].
#: Returns the reasons woken since the last wait ([] when the bound passed quietly).
WAIT_SCRIPT = r"""
const S = arguments[0], waitMs = arguments[1], W = arguments[2], done = arguments[arguments.length - 1];
const G = window.__waGateway = window.__waGateway || {};
G.jobs = G.jobs || {};
G.woken = Array.isArray(G.woken) ? G.woken : [];
if (typeof G.wake !== 'function' || !G.watching) {
  G.wake = (reason) => {
    try {
      G.woken.push(String(reason));
      if (G.woken.length > W.maxReasons) G.woken.splice(0, G.woken.length - W.maxReasons);
      G.wakes = (G.wakes || 0) + 1;
      if (G.waiter && !G.calling) {  // answer after this task: wakes of one change come back together
        G.calling = true;
        setTimeout(() => { G.calling = false; if (G.waiter) G.waiter(); }, 0);
      }
    } catch (e) { /* wake must never throw into WhatsApp's own code */ }
  };
}
if (!G.watching && document.documentElement) {
  G.watching = true;
  const one = (sel) => { try { return document.querySelector(sel); } catch (e) { return null; } };
  const all = (sel) => { try { return document.querySelectorAll(sel); } catch (e) { return []; } };
  const outline = (root, depth) => {  // the app's top levels: a new screen changes them, a chat row does not
    let budget = W.outlineNodes;
    const walk = (el, left) => {
      if (!el || left < 0 || --budget < 0) return '';
      let out = el.tagName + (el.id ? '#' + el.id : '') + '(';
      let n = 0;
      for (const child of el.children) {
        if (++n > 12) { out += '+'; break; }
        out += walk(child, left - 1);
      }
      return out + ')';
    };
    return walk(root, depth);
  };
  G.signature = () => {
    const holder = one(S.QR_REF_HOLDER);
    const dialogs = Array.from(all(S.DIALOG)).map((d) => d.childElementCount + ':' + (d.textContent || '').length);
    const code = one(S.PAIRING_CODE);
    const box = one(S.STAY_LOGGED_IN);
    return [location.href, document.title, !!one(S.CHAT_LIST), !!one(S.QR_CANVAS),
      holder ? holder.getAttribute(S.QR_REF_ATTRIBUTE) + '/' + holder.childElementCount + '/' +
        (holder.textContent || '').length : '-',
      dialogs.join(','), all(S.PROGRESS).length, !!one(S.STARTUP),
      code ? code.getAttribute(S.PAIRING_CODE_ATTRIBUTE) : '-', box ? !!box.checked : '-',
      outline(document.body, W.outlineDepth)].join('|');
  };
  G.sig = G.signature();
  G.checks = 0;
  const check = () => {
    G.checks += 1;
    const now = G.signature();
    if (now !== G.sig) { G.sig = now; G.wake('dom'); }
  };
  let cooling = false, dirty = false;
  const changed = () => {
    if (cooling) { dirty = true; return; }
    cooling = true;
    check();
    setTimeout(() => { cooling = false; if (dirty) { dirty = false; changed(); } }, W.throttleMs);
  };
  try {
    new MutationObserver(changed).observe(document.documentElement, {subtree: true, childList: true,
      attributes: true, characterData: true});
  } catch (e) { /* the safety-net probe still reads the page */ }
  document.addEventListener('change', changed, true);  // a checkbox ticked: no mutation
  G.hooked = new WeakSet();
  G.hookedAt = 0;
  G.hook = () => {
    if (typeof window.require !== 'function') return;
    G.hookedAt = Date.now();
    for (const [key, name, part, events, reason] of W.moduleEvents) {
      let target = null;
      try { target = window.require(S[key] || name)[part] || null; } catch (e) { continue; }  // not (yet) there
      if (!target || typeof target.on !== 'function' || G.hooked.has(target)) continue;
      try {
        for (const event of events) target.on(event, () => G.wake(reason));
        G.hooked.add(target);
      } catch (e) { /* try again on the next hook */ }
    }
  };
  G.wake('load');
}
if (G.hook && Date.now() - G.hookedAt >= W.hookEveryMs) { try { G.hook(); } catch (e) { /* next time */ } }
let answered = false;
const answer = () => {
  if (answered) return;
  answered = true;
  clearTimeout(timer);
  if (G.waiter === answer) G.waiter = null;
  done(G.woken.splice(0));
};
const timer = setTimeout(answer, waitMs);
if (G.woken.length) answer(); else G.waiter = answer;
"""

#: Counters of the watcher in this page: wakes called, signatures computed (for tests and diagnostics).
COUNTS_SCRIPT = """
const G = window.__waGateway || {};
return {watching: !!G.watching, wakes: G.wakes || 0, checks: G.checks || 0};
"""


def watcher_settings() -> dict[str, Any]:
    """The watcher's own constants, as the page script reads them."""
    return {"throttleMs": THROTTLE_MS, "hookEveryMs": HOOK_EVERY_MS, "maxReasons": MAX_REASONS,
            "moduleEvents": MODULE_EVENTS, "outlineDepth": 4, "outlineNodes": 120}


def wake_reasons(raw: object) -> tuple[str, ...]:
    """The reasons a wait returned, as short strings (anything else: none)."""
    if not isinstance(raw, list):
        return ()
    return tuple(str(r)[:40] for r in raw if isinstance(r, str | int | float))


class Listener:
    """Waits on the page for a wake; the gateway's own side (a command) ends the next wait at once."""

    def __init__(self, browser: Browser, signs: dict, sleep: Callable[[float], None] = time.sleep) -> None:
        self.browser = browser
        self.sleep = sleep
        self.signs = signs
        self.settings = watcher_settings()
        self._nudged = threading.Event()
        self.failures = 0

    def nudge(self) -> None:
        """Something for the worker outside the page (a command): the next wait returns at once."""
        self._nudged.set()

    def wait(self, seconds: float) -> tuple[str, ...]:
        """Until the page wakes us or `seconds` pass: the reasons (empty: nothing happened)."""
        if self._nudged.is_set():
            self._nudged.clear()
            return ("command",)
        driver = self.browser.driver
        if driver is None or self.browser.closed:
            return ("closed",)
        self.browser.set_command_timeout(seconds + EXTRA_WAIT_S)
        try:
            raw = driver.execute_async_script(WAIT_SCRIPT, self.signs, max(1, int(seconds * 1000)), self.settings)
        except Exception as exc:  # noqa: BLE001 - the page navigated (or froze): the probe looks at once
            self.failures += 1
            logger.debug("page wait ended: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            self.sleep(min(seconds, FAILED_WAIT_PAUSE_S))  # a page between two documents: no busy loop
            return ("navigation",)
        finally:
            self.browser.set_command_timeout(None)
        if self._nudged.is_set():
            self._nudged.clear()
            return (*wake_reasons(raw), "command")
        return wake_reasons(raw)


class WakeBudget:
    """A few woken looks at once, then one per `interval`: a flood of wakes never reads more than polling did."""

    def __init__(self, interval: float, burst: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def delay(self) -> float:
        """Take one look from the budget: the seconds to wait before it (0 when it may look at once)."""
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) / self.interval) - 1.0
        self.stamp = now
        return -self.tokens * self.interval if self.tokens < 0 else 0.0
