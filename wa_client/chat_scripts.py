"""The page scripts of messaging: start a send or a look-up in the page, and the probe's part that
collects acks, patients' messages and finished jobs (docs/whatsapp-web.md, "Messaging").

A job runs in the page as a promise and leaves its answer in `window.__waGateway.jobs[token]`; the
next probe collects it, so the worker never blocks on WhatsApp's servers.
"""

from __future__ import annotations

#: Starts a job; arguments[0] the signs, arguments[1] {token, kind: "send"|"exists", digits, text}.
#: Returns "started", or "no_modules" when WhatsApp's modules are not there.
START_JOB_SCRIPT = r"""
const S = arguments[0], P = arguments[1];
if (typeof window.require !== 'function') return 'no_modules';
const req = (name) => window.require(name);
try { [S.WID_FACTORY_MODULE, S.QUERY_EXISTS_MODULE, S.COLLECTIONS_MODULE].forEach(req);
  if (P.kind === 'send') [S.FIND_CHAT_MODULE, S.MSG_KEY_MODULE, S.SEND_MSG_MODULE, S.ME_USER_MODULE].forEach(req);
} catch (e) { return 'no_modules'; }
const G = window.__waGateway = window.__waGateway || {jobs: {}};
G.jobs = G.jobs || {};
const job = G.jobs[P.token] = {done: false, result: null};
const fail = (reason, error) => ({ok: false, reason: reason, error: error});
const lookUp = async () => {
  const wid = req(S.WID_FACTORY_MODULE).createWid(P.digits + '@c.us');
  const found = await req(S.QUERY_EXISTS_MODULE).queryWidExists(wid);
  return found && found.wid ? found.wid : null;  // may be an @lid id: send to it, not to …@c.us
};
const send = async () => {
  const wid = await lookUp();
  if (!wid) return fail('not_on_whatsapp', 'this number does not have WhatsApp');
  let chat = req(S.COLLECTIONS_MODULE).Chat.get(wid);
  if (!chat) { const found = await req(S.FIND_CHAT_MODULE).findOrCreateLatestChat(wid); chat = found && found.chat; }
  if (!chat) return fail('rejected', 'WhatsApp did not open the chat');
  const Me = req(S.ME_USER_MODULE), MsgKey = req(S.MSG_KEY_MODULE);
  const lid = chat.id.server === 'lid' && typeof Me.getMaybeMeLidUser === 'function';
  const me = lid ? Me.getMaybeMeLidUser()
    : (typeof Me.getMaybeMePnUser === 'function' ? Me.getMaybeMePnUser() : Me.getMaybeMeUser());
  const key = new MsgKey({from: me, to: chat.id, id: await MsgKey.newId(), participant: undefined, selfDir: 'out'});
  const message = {id: key, ack: 0, body: P.text, from: me, to: chat.id, local: true, self: 'out',
    t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat'};
  const result = req(S.SEND_MSG_MODULE).addAndSendMsgToChat(chat, message);
  await (Array.isArray(result) ? result[0] : result);  // "added"; the send itself is followed through the ack
  return {ok: true, id: key._serialized, to: chat.id._serialized};
};
const exists = async () => {
  const wid = await lookUp();
  return {ok: true, exists: !!wid, to: wid ? wid._serialized : null};
};
(P.kind === 'send' ? send() : exists()).then(
  (result) => { job.result = result; job.done = true; },
  (e) => { job.result = fail('rejected', String((e && e.message) || e).slice(0, 200)); job.done = true; });
return 'started';
"""

#: The probe's messaging part, a function of (S, P, body): P {watch: [ids]}; body the page's lower-case text.
#: Installs the Msg listeners once per page load, then drains what they buffered.
CHAT_PROBE_JS = r"""
(function (S, P, body) {
  const out = {restricted: (S.RESTRICTED_TEXTS || []).some((t) => body.includes(t)), modules: false,
    acks: [], incoming: [], jobs: {}, known: []};
  const G = window.__waGateway = window.__waGateway || {jobs: {}};
  G.jobs = G.jobs || {};
  for (const token of Object.keys(G.jobs)) {
    out.known.push(token);
    if (G.jobs[token].done) { out.jobs[token] = G.jobs[token].result; delete G.jobs[token]; }
  }
  const fromTicks = () => {  // no modules: the tick icon's label in the open chat (" Sent ", " Read "...)
    const labels = S.OUTGOING_ACK_LABELS || [];
    for (const id of (P.watch || [])) {
      let row = null;
      try { row = document.querySelector('[data-id="' + CSS.escape(id) + '"]'); } catch (e) { row = null; }
      if (!row) continue;
      const seen = Array.from(row.querySelectorAll('[aria-label]'))
        .map((el) => el.getAttribute('aria-label').trim().toLowerCase());
      const at = labels.findIndex((label) => seen.includes(label));
      if (at >= 0) out.acks.push([id, at - 1]);
    }
    return out;
  };
  if (typeof window.require !== 'function') return fromTicks();
  let Msg = null;
  try { Msg = window.require(S.COLLECTIONS_MODULE).Msg; } catch (e) { return fromTicks(); }
  if (!Msg || typeof Msg.on !== 'function') return fromTicks();
  out.modules = true;
  const ser = (w) => (!w ? '' : typeof w === 'string' ? w : String(w._serialized || w));
  const patient = (m) => { const from = ser(m.from); return !from.endsWith('@g.us') && !from.includes('broadcast'); };
  if (G.Msg !== Msg) {  // a new page (or the first poll): listen again
    G.Msg = Msg; G.acks = []; G.incoming = []; G.waiting = [];
    const keep = (m) => (m.type === 'ciphertext' ? G.waiting : G.incoming).push(m);  // ciphertext: until decrypted
    const news = (m) => !!m && !!m.isNewMsg && !!m.id && !m.id.fromMe && patient(m);
    try {  // what arrived on this page before the listener (a fresh page holds only its own news)
      (typeof Msg.getModelsArray === 'function' ? Msg.getModelsArray() : Msg.models || []).filter(news).forEach(keep);
    } catch (e) { /* no list: the listener alone */ }
    Msg.on('add', (m) => { try {
      if (news(m)) keep(m);
      if (G.incoming.length > 500) G.incoming.shift();
    } catch (e) { /* never break WhatsApp's own listeners */ } });
    Msg.on('change:ack', (m) => { try {
      if (m && m.id && m.id.fromMe) { G.acks.push([ser(m.id), m.ack]); if (G.acks.length > 1000) G.acks.shift(); }
    } catch (e) { /* idem */ } });
  }
  G.waiting = G.waiting.filter((m) => { if (m.type === 'ciphertext') return true; G.incoming.push(m); return false; });
  out.acks = G.acks.splice(0);
  for (const id of (P.watch || [])) {  // the current ack: a read receipt does not always come as an event
    const m = Msg.get(id);
    if (m && typeof m.ack === 'number') out.acks.push([id, m.ack]);
  }
  out.incoming = G.incoming.splice(0).map((m) => ({id: ser(m.id), from: ser(m.from),
    text: String(m.body || m.caption || ''), time: Number(m.t) || 0, kind: String(m.type || '')}));
  return out;
})
"""

#: The page route: after /send?phone=&text=, press Send or report the invalid-number dialog.
#: Returns "invalid", "sent" (with the outgoing ids seen before), or null while neither shows.
PAGE_SEND_SCRIPT = r"""
const S = arguments[0], P = arguments[1];
const low = (s) => String(s || '').toLowerCase();
const dialogs = Array.from(document.querySelectorAll(S.DIALOG));
if (dialogs.some((d) => S.INVALID_NUMBER_TEXTS.some((t) => low(d.innerText || d.textContent).includes(t)))) {
  return {state: 'invalid'};
}
const button = document.querySelector(S.SEND_BUTTON);
if (!button) return null;
const before = Array.from(document.querySelectorAll(S.OUTGOING_MESSAGE)).map((el) => el.getAttribute('data-id'));
button.click();
return {state: 'sent', before: before};
"""

#: The outgoing message ids on the page now.
OUTGOING_IDS_SCRIPT = r"""
return Array.from(document.querySelectorAll(arguments[0].OUTGOING_MESSAGE)).map((el) => el.getAttribute('data-id'));
"""
