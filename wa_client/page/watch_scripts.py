"""The page side of listening: the watcher script, its wake function and its settings (wa_client/page/watch.py
runs them; docs/whatsapp-web.md, "Listening to the page")."""

from __future__ import annotations

import json
from typing import Any

THROTTLE_MS = 40  # the signature is recomputed at most this often while the DOM changes
HOOK_EVERY_MS = 1000  # how often a wait looks again for modules that load on demand
MAX_REASONS = 100  # the page keeps at most this many unread wake reasons

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

#: The watcher, as a function of (S signs, W settings, send): installs itself once per document and returns
#: window.__waGateway. `send` pushes a string (a DevTools binding, or a WebDriver BiDi channel) or is null.
WATCH_JS = r"""
(S, W, send) => {
  const G = window.__waGateway = window.__waGateway || {};
  G.jobs = G.jobs || {};
  G.woken = Array.isArray(G.woken) ? G.woken : [];
  if (send) G.send = send;
  if (G.watching) return G;
  G.watching = true;
  G.wake = (reason) => {
    try {
      G.woken.push(String(reason));
      if (G.woken.length > W.maxReasons) G.woken.splice(0, G.woken.length - W.maxReasons);
      G.wakes = (G.wakes || 0) + 1;
      if (G.send && !G.waiter) { G.send(G.woken.splice(0).join(',')); return; }  // now: the page may be leaving
      if (!G.calling) {  // after this task: the wakes of one change go out together
        G.calling = true;
        setTimeout(() => {
          G.calling = false;
          if (G.waiter) G.waiter();
        }, 0);
      }
    } catch (e) { /* wake must never throw into WhatsApp's own code */ }
  };
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
    new MutationObserver(changed).observe(document.documentElement || document, {subtree: true,
      childList: true, attributes: true, characterData: true});
  } catch (e) { /* the safety-net probe still reads the page */ }
  document.addEventListener('change', changed, true);  // a checkbox ticked: no mutation
  document.addEventListener('DOMContentLoaded', changed);  // a preload runs before <body> exists
  G.hooked = new WeakSet();
  G.hookedAt = 0;
  G.hook = () => {
    G.hookedAt = Date.now();
    if (typeof window.require !== 'function') return;
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
  setInterval(() => { try { G.hook(); } catch (e) { /* next time */ } }, W.hookEveryMs);  // modules on demand
  G.wake('load');
  return G;
}
"""

#: One wait without a push channel (the fallback): arguments [signs, wait in ms, watcher settings, done]. Installs the
#: watcher when missing; returns the reasons woken since the last wait ([] when the bound passed quietly).
WAIT_SCRIPT = "const WATCH = " + WATCH_JS.strip() + ";\n" + r"""
const done = arguments[arguments.length - 1];
const G = WATCH(arguments[0], arguments[2], null);
let answered = false;
const answer = () => {
  if (answered) return;
  answered = true;
  clearTimeout(timer);
  if (G.waiter === answer) G.waiter = null;
  done(G.woken.splice(0));
};
const timer = setTimeout(answer, arguments[1]);
if (G.woken.length) answer(); else G.waiter = answer;
"""

CHANNEL = "wa-gateway-wake"  # the BiDi channel the watcher sends its wakes on


def push_function(signs: dict, settings: dict) -> str:
    """The preload script: the watcher with its signs, sending with the function (or BiDi channel) it is given."""
    return f"(send) => {{ ({WATCH_JS.strip()})({json.dumps(signs)}, {json.dumps(settings)}, send); }}"


#: Counters of the watcher in this page: wakes called, signatures computed (for tests and diagnostics).
COUNTS_SCRIPT = """
const G = window.__waGateway || {};
return {watching: !!G.watching, wakes: G.wakes || 0, checks: G.checks || 0};
"""


def watcher_settings() -> dict[str, Any]:
    """The watcher's own constants, as the page script reads them."""
    return {"throttleMs": THROTTLE_MS, "hookEveryMs": HOOK_EVERY_MS, "maxReasons": MAX_REASONS,
            "moduleEvents": MODULE_EVENTS, "outlineDepth": 4, "outlineNodes": 120}
