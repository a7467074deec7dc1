"""The probe: one script, one round trip a poll, reading the DOM and WhatsApp's modules into plain data.

Each sign is guarded on its own, so a renamed element or a missing module only disables that
sign (docs/whatsapp-web.md, "Two ways to read the page").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from wa_client.page.chat_scripts import CHAT_PROBE_JS
from wa_client.page.hooks import HOOKS_JS


@dataclass(frozen=True)
class DomSigns:
    """What the page's elements and texts show (the DOM channel)."""

    blocked: str | None = None  # which block text matched (e.g. "tos_block")
    unsupported: bool = False
    conflict: bool = False
    other_tab: bool = False
    chats: bool = False
    passkey: bool = False  # "Quick security check with Passkey" (late 2026)
    loading: bool = False
    offline: bool = False
    pairing_code: str | None = None
    code_expired: bool = False
    qr_expired: bool = False
    qr_payload: str | None = None
    startup: bool = False
    landing: bool = False
    covering_dialog: bool = False
    stay_logged_in: bool | None = None  # the checkbox: None when it is not on the page


@dataclass(frozen=True)
class ModuleSigns:
    """What WhatsApp's own modules say (the modules channel); absent when window.require is not there."""

    state: str = ""  # Socket.state
    stream: str = ""
    has_synced: bool = False
    ref: bool = False  # Conn.ref is set
    qr_payload: str | None = None  # the element attribute that holds the whole payload starting with Conn.ref
    linked: bool = False  # Conn.wid is set
    number: str | None = None  # Conn.wid's user part (the linked phone), for /me
    name: str | None = None  # Conn.pushname
    stream_mode: str = ""  # WAWebStreamModel's Stream.mode (late 2026)
    passkey: bool = False  # the passkey check's screen modules are registered
    bus_block: str | None = None  # a block WAWebBackendEventBus announced ("smb_tos_block", "service_unavailable")
    version: str | None = None  # WAWebUpdaterVersion.SANITIZED_VERSION_STR: the build the page runs


@dataclass(frozen=True)
class Observation:
    """The whole picture of the page, as one probe returned it: plain data, no decisions."""

    url: str = ""
    post_logout: bool = False  # the navigation entry's URL (not location.href) carries post_logout=1
    error_page: bool = False
    linked: bool = False  # the profile's linked marker (last-wid-md)
    linked_wid: str | None = None  # last-wid-md itself: the JSON-quoted wid of the linked account, for /me
    error_code: str | None = None  # Chromium's error page: its net error (e.g. ERR_PROXY_CONNECTION_FAILED)
    logout_seen: bool = False  # the Cmd 'logout' listener fired on this tab
    title: str = ""
    text_size: int = 0
    dom: DomSigns = field(default_factory=DomSigns)
    modules: ModuleSigns | None = None

    @classmethod
    def from_probe(cls, raw: Any) -> Observation:
        """Build an observation from the probe's dict, ignoring anything unexpected."""
        if not isinstance(raw, dict):
            return cls()
        top = _known(cls, raw, skip=("dom", "modules"))
        dom = DomSigns(**_known(DomSigns, raw.get("dom")))
        modules = ModuleSigns(**_known(ModuleSigns, raw["modules"])) if isinstance(raw.get("modules"), dict) else None
        return cls(**top, dom=dom, modules=modules)

    def summary(self) -> dict:
        """What the probe saw, for a log line: no payload, no phone number."""
        dom = {f.name: getattr(self.dom, f.name) for f in fields(DomSigns) if getattr(self.dom, f.name)}
        dom.pop("qr_payload", None)
        dom.pop("pairing_code", None)
        modules = None if self.modules is None else {"state": self.modules.state, "stream": self.modules.stream,
                                                    "has_synced": self.modules.has_synced,
                                                    "stream_mode": self.modules.stream_mode,
                                                    "version": self.modules.version}
        path = self.url.split("?", 1)[0]
        return {"url": path, "title": self.title[:80], "text_size": self.text_size, "dom": dom, "modules": modules}


def _known(kind: type, raw: Any, skip: tuple[str, ...] = ()) -> dict:
    if not isinstance(raw, dict):
        return {}
    names = {f.name for f in fields(kind)} - set(skip)
    return {k: v for k, v in raw.items() if k in names}


#: One round trip per poll: arguments[0] is the signs (selectors.load()), arguments[1] the messaging part's
#: argument (chat.ChatHub.probe_args); returns a dict for Observation (and "chat" for chat.ChatWorker).
PROBE_SCRIPT = "const CHAT_PROBE = " + CHAT_PROBE_JS.strip() + ";\nconst HOOKS = " + HOOKS_JS.strip() + ";\n" + r"""
const S = arguments[0];
const low = (s) => String(s || '').toLowerCase();
const text = (el) => (el ? (el.innerText || el.textContent || '') : '').trim();
const shown = (el) => !!el && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
const one = (sel) => { try { return document.querySelector(sel); } catch (e) { return null; } };
const all = (sel) => { try { return Array.from(document.querySelectorAll(sel)); } catch (e) { return []; } };
const guard = (fn, fallback) => { try { return fn(); } catch (e) { return fallback; } };
const body = low(document.body ? (document.body.innerText || '') : '');
const has = (list) => list.some((t) => body.includes(t));
const chats = !!one(S.CHAT_LIST);
const canvas = one(S.QR_CANVAS);
const holder = canvas ? canvas.closest(S.QR_REF_HOLDER) : one(S.QR_REF_HOLDER);
const holderText = low(text(holder));
const dialogs = all(S.DIALOG).filter((d) => shown(d) && text(d));
const trapDialog = (d) => S.TRAP_DIALOG_TEXTS.some((t) => low(text(d)).includes(t));
const fullPage = !chats && !canvas;
const onError = location.href.startsWith(S.BROWSER_ERROR_URL);
const errorCode = onError ? guard(() => String((window.loadTimeDataRaw || {}).errorCode || '')
  || (body.match(/\berr_[a-z_]+/) || [''])[0].toUpperCase() || null, null) : null;
const dom = guard(() => ({
  blocked: fullPage ? (S.BLOCKS.find(([, texts]) => has(texts)) || [null])[0] : null,
  unsupported: !chats && has(S.UNSUPPORTED_TEXTS),
  conflict: dialogs.some((d) => low(text(d)).includes(S.USE_HERE_TEXT)),
  other_tab: !chats && has(S.OTHER_TAB_TEXTS),
  chats: chats,
  passkey: !chats && has(S.PASSKEY_TEXTS),
  loading: all(S.PROGRESS).some((p) => shown(p) && !p.closest(S.STARTUP)) && has(S.LOADING_TEXTS),
  offline: S.OFFLINE_TEXTS.some((t) => holderText.includes(t)) ||
    dialogs.some((d) => S.OFFLINE_TEXTS.some((t) => low(text(d)).includes(t))),
  pairing_code: guard(() => one(S.PAIRING_CODE).getAttribute(S.PAIRING_CODE_ATTRIBUTE), null),
  code_expired: !holder && has(S.CODE_EXPIRED_TEXTS),
  qr_expired: !!holder && (holderText.includes(S.RELOAD_TEXT) || !!holder.querySelector(S.RELOAD_ICON)),
  qr_payload: canvas && holder ? holder.getAttribute(S.QR_REF_ATTRIBUTE) : null,
  startup: !!one(S.STARTUP),
  landing: has(S.PHONE_LOGIN_TEXTS),
  covering_dialog: dialogs.some((d) => !trapDialog(d)),
  stay_logged_in: guard(() => { const box = one(S.STAY_LOGGED_IN); return box ? !!box.checked : null; }, null),
}), {});
const modules = guard(() => {
  // The channel is there when a module the page needs is (never window.Debug: late 2026 sets it late or
  // not at all); "Requiring unknown module" means not yet: the next probe asks again.
  if (typeof window.require !== 'function') return null;
  guard(() => HOOKS(S));  // each listener as soon as its module is there
  const get = (name, key) => guard(() => window.require(name)[key] || null, null);
  const Socket = get(S.SOCKET_MODULE, 'Socket');
  if (!Socket) return null;
  const Conn = get(S.CONN_MODULE, 'Conn'), Stream = get(S.STREAM_MODULE, 'Stream');
  const ref = Conn && typeof Conn.ref === 'string' && Conn.ref ? Conn.ref : null;
  let payload = null;
  if (ref) {
    const holds = (v) => typeof v === 'string' && v.includes(ref) && v.includes(',');
    const first = one(S.QR_REF_HOLDER);
    const fromHolder = first ? first.getAttribute(S.QR_REF_ATTRIBUTE) : null;
    if (holds(fromHolder)) payload = fromHolder;
    for (const el of (payload ? [] : document.body.querySelectorAll('*'))) {
      const hit = Array.from(el.attributes).find((a) => holds(a.value));
      if (hit) { payload = hit.value; break; }
    }
  }
  const wid = Conn ? Conn.wid : null;
  const widText = wid ? (typeof wid === 'string' ? wid : (wid._serialized || '')) : '';
  return {
    state: Socket ? String(Socket.state || '') : '',
    stream: Socket ? String(Socket.stream || '') : '',
    has_synced: !!(Socket && Socket.hasSynced),
    ref: !!ref,
    qr_payload: payload,
    linked: !!widText,
    number: widText ? widText.split('@')[0].split(':')[0] : null,
    name: Conn && typeof Conn.pushname === 'string' ? Conn.pushname : null,
    stream_mode: Stream && Stream.mode ? String(Stream.mode) : '',
    passkey: [S.PASSKEY_SCREEN_MODULE, S.PASSKEY_CHECKPOINT_MODULE].some((name) => guard(() => !!window.require(name),
      false)),
    bus_block: guard(() => window.sessionStorage.getItem(S.BUS_BLOCK_KEY), null),
    version: guard(() => String(window.require(S.VERSION_MODULE).SANITIZED_VERSION_STR || '') || null, null),
  };
}, null);
return {
  url: location.href,
  post_logout: guard(() => performance.getEntriesByType('navigation')[0].name.includes(S.POST_LOGOUT_URL_MARK), false),
  // Chromium's error page counts once it names its error (loadTimeDataRaw is set before its words are drawn), or
  // once it finished loading without one: a probe in between must not decide "unreachable" without the cause.
  error_page: onError && (!!errorCode || document.readyState === 'complete'),
  linked: guard(() => !!window.localStorage.getItem(S.LINKED_STORAGE_KEY), false),
  linked_wid: guard(() => window.localStorage.getItem(S.LINKED_STORAGE_KEY), null),
  error_code: errorCode,
  logout_seen: guard(() => !!window.sessionStorage.getItem(S.LOGOUT_MARKER_KEY), false),
  title: document.title || '',
  text_size: body.length,
  dom: dom,
  modules: modules,
  chat: guard(() => CHAT_PROBE(S, arguments[1] || {}, body), null),
};
"""


def probe_args(signs: dict) -> dict:
    """The probe's argument: the signs, plus the block kinds as ordered pairs."""
    from wa_client.selectors import BLOCK_TEXT_KEYS

    return {**signs, "BLOCKS": [[kind, signs[key]] for kind, key in BLOCK_TEXT_KEYS]}
