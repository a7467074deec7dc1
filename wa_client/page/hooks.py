"""Listeners the gateway installs in WhatsApp's modules: logout and block events, recorded in the tab.

WhatsApp registers some modules only on demand (docs/whatsapp-web.md, "Late 2026"), so `HOOKS_JS`
runs with every probe: it hooks each module the moment it appears, again after every page load,
and at most once per module object. Each listener records what it heard in sessionStorage (which
survives the reload that follows a logout), then wakes the gateway's worker when something is
there to wake it.
"""

from __future__ import annotations

#: A function (S) => void, for a page script that has the signs (selectors.load()) as S.
HOOKS_JS = r"""
(S) => {
  const get = (name) => { try { return window.require(name); } catch (e) { return null; } };  // unknown: not yet
  const hooked = window.__waGatewayHooked || (window.__waGatewayHooked = new WeakSet());
  const record = (key, value) => { try { sessionStorage.setItem(key, value); } catch (e) { /* private mode */ } };
  const hook = (target, events) => {
    if (!target || typeof target !== 'object' || hooked.has(target)) return;
    const add = target.on || target.addListener;
    if (typeof add !== 'function') return;
    hooked.add(target);
    for (const [event, heard] of events) {
      add.call(target, event, () => {
        heard(event);
        (window.__waGateway && window.__waGateway.wake || function () {})(event);
      });
    }
  };
  const logout = (event) => record(S.LOGOUT_MARKER_KEY, event + ' ' + Date.now());
  const block = (kind) => () => record(S.BUS_BLOCK_KEY, kind);
  const cmd = get(S.CMD_MODULE);
  hook(cmd && cmd.Cmd, S.CMD_LOGOUT_EVENTS.map((event) => [event, logout]));
  const bus = get(S.BACKEND_EVENT_BUS_MODULE);
  hook(bus && (bus.BackendEventBus || bus.default || bus), [
    ...S.BUS_LOGOUT_EVENTS.map((event) => [event, logout]),
    ...S.BUS_BANNED_EVENTS.map((event) => [event, block('smb_tos_block')]),
    ...S.BUS_UNAVAILABLE_EVENTS.map((event) => [event, block('service_unavailable')]),
  ]);
}
"""
