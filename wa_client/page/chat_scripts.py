"""The page scripts of messaging: start a send or a look-up in the page, and the probe's part that
collects acks, patients' messages and finished jobs (docs/whatsapp-web.md, "Messaging").

A job runs in the page as a promise and leaves its answer in `window.__waGateway.jobs[token]`; the
next probe collects it, so the worker never blocks on WhatsApp's servers.
"""

from __future__ import annotations

#: Starts a job; arguments[0] the signs, arguments[1] {token, kind: "send"|"exists"|"new_id"|"find", digits, text,
#: msg_id, lookups}. Returns "started"; "not_yet" when the loader is there but a messaging module is not
#: registered yet ("Requiring unknown module": ask again); "no_loader" without WhatsApp's loader at all.
START_JOB_SCRIPT = r"""
const S = arguments[0], P = arguments[1];
if (typeof window.require !== 'function') return 'no_loader';
const req = (name) => window.require(name);
const NEEDS = {exists: [S.WID_FACTORY_MODULE, S.QUERY_EXISTS_MODULE, S.COLLECTIONS_MODULE], new_id: [S.MSG_KEY_MODULE],
  send: [S.WID_FACTORY_MODULE, S.QUERY_EXISTS_MODULE, S.COLLECTIONS_MODULE, S.FIND_CHAT_MODULE, S.MSG_KEY_MODULE,
    S.SEND_MSG_MODULE, S.ME_USER_MODULE],
  find: [S.WID_FACTORY_MODULE, S.QUERY_EXISTS_MODULE, S.COLLECTIONS_MODULE, S.CHAT_LOAD_MODULE]};
try { NEEDS[P.kind].forEach(req); } catch (e) { return 'not_yet'; }
const opt = (name) => { try { return req(name); } catch (e) { return null; } };
const G = window.__waGateway = window.__waGateway || {jobs: {}};
G.jobs = G.jobs || {};
const job = G.jobs[P.token] = {done: false, result: null};
const wake = () => { try { (G.wake || function () {})('chat'); } catch (e) { /* nobody listens */ } };
const fail = (reason, error) => ({ok: false, reason: reason, error: error});
const ser = (w) => (w === undefined || w === null ? '' : String(w));  // String(key): never key._serialized
const lookUp = async (digits) => {
  const wid = req(S.WID_FACTORY_MODULE).createWid(digits + '@c.us');
  const found = await req(S.QUERY_EXISTS_MODULE).queryWidExists(wid);
  return found && found.wid ? found.wid : null;  // may be an @lid id: send to it, not to …@c.us
};
const models = (c) => (!c ? [] : typeof c.getModelsArray === 'function' ? c.getModelsArray() : (c.models || []));
const lock = () => {  // the reach-out time lock as WhatsApp Web gates its compose bar with it
  const T = opt(S.TIMELOCK_MODULE);
  try { return !!(T && typeof T[S.TIMELOCK_ACTIVE_FN] === 'function' && T[S.TIMELOCK_ACTIVE_FN]()); }
  catch (e) { return false; }
};
const send = async () => {
  const wid = await lookUp(P.digits);
  if (!wid) return fail('not_on_whatsapp', 'this number does not have WhatsApp');
  const Chat = req(S.COLLECTIONS_MODULE).Chat;
  let chat = Chat.get(wid);
  const prior = !!chat && (models(chat.msgs).length > 0 || Number(chat.t) > 0);
  if (!prior && lock()) return fail('reachout_timelocked', 'time-locked: no first messages to new contacts');
  if (!chat) {
    const found = await req(S.FIND_CHAT_MODULE).findOrCreateLatestChat(wid, S.CHAT_ORIGIN);
    chat = found && (found.chat || (found.id ? found : null));
  }
  if (!chat) return fail('rejected', 'WhatsApp did not open the chat');
  const Me = req(S.ME_USER_MODULE), MsgKey = req(S.MSG_KEY_MODULE);
  const lid = chat.id.server === 'lid' && typeof Me.getMaybeMeLidUser === 'function';
  const me = lid ? Me.getMaybeMeLidUser()
    : (typeof Me.getMaybeMePnUser === 'function' ? Me.getMaybeMePnUser() : Me.getMaybeMeUser());
  const id = P.msg_id || await MsgKey.newId();
  const key = new MsgKey({from: me, to: chat.id, id: id, participant: undefined, selfDir: 'out'});
  const message = {id: key, ack: 0, body: P.text, from: me, to: chat.id, local: true, self: 'out',
    t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat'};
  const result = req(S.SEND_MSG_MODULE).addAndSendMsgToChat(chat, message);
  const added = await (Array.isArray(result) ? result[0] : result);  // "added"; the send is followed by the ack
  const model = (Array.isArray(added) && added[0]) || req(S.COLLECTIONS_MODULE).Msg.get(key);
  const ack = model && typeof model.ack === 'number' ? model.ack : 0;
  return {ok: true, id: ser(key), to: ser(chat.id), ack: ack};
};
const exists = async () => {
  const wid = await lookUp(P.digits);
  return {ok: true, exists: !!wid, to: wid ? ser(wid) : null};
};
const newId = async () => ({ok: true, id: String(await req(S.MSG_KEY_MODULE).newId())});
const loader = () => {  // loadEarlierMsgs: one object in current builds, positional before; null when neither fits
  const fn = req(S.CHAT_LOAD_MODULE).loadEarlierMsgs;
  if (typeof fn !== 'function') return null;
  if (fn.length === 1) return (chat) => fn({chat: chat});
  if (fn.length === 2) return (chat) => fn(chat, chat.msgs);
  return null;
};
const findOne = async (L, load) => {
  const Msg = req(S.COLLECTIONS_MODULE).Msg, Chat = req(S.COLLECTIONS_MODULE).Chat;
  const answer = (m) => ({message_id: L.message_id, state: 'found', wa_id: ser(m.id),
    ack: typeof m.ack === 'number' ? m.ack : null, to_jid: ser(m.id && m.id.remote) || ser(m.to) || null});
  const wid = L.to_jid ? req(S.WID_FACTORY_MODULE).createWid(L.to_jid) : await lookUp(L.phone_digits);
  if (!wid) return {message_id: L.message_id, state: 'absent'};  // no WhatsApp: nothing went to it
  const mine = (m) => !!m && !!m.id && !!m.id.fromMe;
  if (L.msg_id) {
    const keys = ['true_' + ser(wid) + '_' + L.msg_id];
    const byId = models(Msg).find((m) => mine(m) && m.id.id === L.msg_id) || Msg.get(keys[0]);
    if (byId) return answer(byId);
    if (typeof Msg.getMessagesById === 'function') {
      const stored = await Msg.getMessagesById(keys);
      const m = stored && (stored.messages || [])[0];
      if (m) return answer(m);
    }
  }
  const chat = Chat.get(wid);
  if (!chat && !models(Chat).length) return {message_id: L.message_id, state: 'unreadable'};  // no chats yet
  if (!chat) return {message_id: L.message_id, state: 'absent'};  // a send makes its chat: none, none sent
  if (!load) return null;  // neither shape fits: the page route reads the chat
  const oldest = () => Math.min(...models(chat.msgs).map((m) => Number(m.t) || Infinity), Infinity);
  let end = false;
  for (let round = 0; round < 50 && !end && oldest() >= L.since; round++) {
    const loaded = await load(chat);
    end = !loaded || !loaded.length;
  }
  // by the id, or by the text from `since` on (a send that took the page route got an id of the page's)
  const hit = models(chat.msgs).find((m) => mine(m) && ((L.msg_id && m.id.id === L.msg_id)
    || (String(m.body || '') === L.text && Number(m.t) >= L.since - 60)));
  if (hit) return answer(hit);
  return {message_id: L.message_id, state: end || oldest() < L.since ? 'absent' : 'unreadable'};
};
const find = async () => {
  const load = loader(), found = [];
  for (const L of P.lookups) {
    const one = await findOne(L, load);
    if (!one) return fail('no_shape', 'loadEarlierMsgs has a shape this gateway does not know');
    found.push(one);
  }
  return {ok: true, found: found};
};
const RUN = {send: send, exists: exists, new_id: newId, find: find};
RUN[P.kind]().then(
  (result) => { job.result = result; job.done = true; wake(); },
  (e) => { job.result = fail('rejected', String((e && e.message) || e).slice(0, 200)); job.done = true; wake(); });
return 'started';
"""

#: The probe's messaging part, a function of (S, P, body): P {watch: [ids]}; body the page's lower-case text.
#: Installs the Msg listeners whenever the Msg collection is new to it (a new page, or the module registered
#: late), then drains what they buffered. Ids are String(key), never key._serialized.
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
  const opt = (name) => { try { return window.require(name); } catch (e) { return null; } };
  const T = opt(S.TIMELOCK_MODULE);
  if (T && typeof T[S.TIMELOCK_ACTIVE_FN] === 'function') {
    try {
      const end = typeof T[S.TIMELOCK_END_FN] === 'function' ? T[S.TIMELOCK_END_FN]() : null;
      out.timelock = {active: !!T[S.TIMELOCK_ACTIVE_FN](), until: typeof end === 'number' ? end : null};
    } catch (e) { /* not known yet */ }
  }
  const C = opt(S.COLLECTIONS_MODULE), Msg = C && C.Msg;
  if (!Msg || typeof Msg.on !== 'function') return fromTicks();
  out.modules = true;
  const ser = (w) => (w === undefined || w === null ? '' : String(w));
  const wake = () => { try { (G.wake || function () {})('chat'); } catch (e) { /* nobody listens */ } };
  const patient = (m) => { const from = ser(m.from); return !from.endsWith('@g.us') && !from.includes('broadcast'); };
  if (G.Msg !== Msg) {  // a new page, or the module registered since the last poll: listen again
    G.Msg = Msg; G.acks = []; G.incoming = []; G.waiting = [];
    const keep = (m) => (m.type === 'ciphertext' ? G.waiting : G.incoming).push(m);  // ciphertext: until decrypted
    const news = (m) => !!m && !!m.isNewMsg && !!m.id && !m.id.fromMe && patient(m);
    try {  // what arrived on this page before the listener (a fresh page holds only its own news)
      (typeof Msg.getModelsArray === 'function' ? Msg.getModelsArray() : Msg.models || []).filter(news).forEach(keep);
    } catch (e) { /* no list: the listener alone */ }
    Msg.on('add', (m) => { try {
      if (news(m)) { keep(m); wake(); }
      if (G.incoming.length > 500) G.incoming.shift();
    } catch (e) { /* never break WhatsApp's own listeners */ } });
    Msg.on('change:ack', (m) => { try {
      if (m && m.id && m.id.fromMe) {
        G.acks.push([ser(m.id), m.ack]); if (G.acks.length > 1000) G.acks.shift(); wake();
      }
    } catch (e) { /* idem */ } });
  }
  G.waiting = G.waiting.filter((m) => { if (m.type === 'ciphertext') return true; G.incoming.push(m); return false; });
  out.acks = G.acks.splice(0);
  const missing = [];
  for (const id of (P.watch || [])) {  // the current ack: a read receipt does not always come as an event
    const m = Msg.get(id);
    if (m && typeof m.ack === 'number') out.acks.push([id, m.ack]);
    else if (!m) missing.push(id);
  }
  const now = Date.now();  // older messages than the page loaded: from its own store, now and then
  if (missing.length && typeof Msg.getMessagesById === 'function' && !(now < (G.storeAsked || 0) + 10000)) {
    G.storeAsked = now;
    Promise.resolve(Msg.getMessagesById(missing.slice(0, 100))).then((found) => {
      for (const m of (found && found.messages) || []) {
        if (m && m.id && typeof m.ack === 'number') G.acks.push([ser(m.id), m.ack]);
      }
      if (found && (found.messages || []).length) wake();
    }).catch(() => { /* not in the store: nothing to say */ });
  }
  const Contact = opt(S.API_CONTACT_MODULE);
  const phoneOf = (from) => {  // an @lid sender: WhatsApp's own LID -> phone mapping, when it knows it
    if (!from || from.server !== 'lid' || !Contact || typeof Contact.getPhoneNumber !== 'function') return null;
    try { return ser(Contact.getPhoneNumber(from)) || null; } catch (e) { return null; }
  };
  const clean = (text) => (typeof text.toWellFormed === 'function' ? text.toWellFormed()
    : text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
  for (const m of G.incoming.splice(0)) {
    try {
      out.incoming.push({id: ser(m.id), from: ser(m.from), phone: phoneOf(m.from),
        text: clean(String(m.body || m.caption || '')), time: Number(m.t) || 0, kind: String(m.type || ''),
        quoted: m.quotedStanzaID ? String(m.quotedStanzaID) : null});
    } catch (e) { /* one unreadable message costs no other */ }
  }
  return out;
})
"""

#: The page route: after /send?phone=&text=, press Send (P.press) or report the invalid-number dialog.
#: Returns "invalid", "sent" (with the outgoing ids seen before), "open" (P.press false: the chat shows),
#: or null while neither shows.
PAGE_SEND_SCRIPT = r"""
const S = arguments[0], P = arguments[1];
const low = (s) => String(s || '').toLowerCase();
const dialogs = Array.from(document.querySelectorAll(S.DIALOG));
if (dialogs.some((d) => S.INVALID_NUMBER_TEXTS.some((t) => low(d.innerText || d.textContent).includes(t)))) {
  return {state: 'invalid'};
}
const button = document.querySelector(S.SEND_BUTTON);
if (!button) return null;
if (P.press === false) return {state: 'open'};
const before = Array.from(document.querySelectorAll(S.OUTGOING_MESSAGE)).map((el) => el.getAttribute('data-id'));
button.click();
return {state: 'sent', before: before};
"""

#: The open chat's rows: {rows: [{id, out, text, time (epoch s, to the minute), ack}], start: the chat's
#: beginning shows}; null while no row and no beginning shows.
CHAT_ROWS_SCRIPT = r"""
const S = arguments[0];
const pane = document.querySelector(S.CONVERSATION_PANE);
if (!pane) return null;
const low = (s) => String(s || '').toLowerCase();
const when = (meta) => {  // "[10:32, 03/12/2026] Clinic: " -> epoch seconds; D/M or M/D: the nearer to now
  const at = /\[(\d{1,2}):(\d{2})(?:\s*([ap])\.?\s*m\.?)?,\s*(\d{1,4})[\/.-](\d{1,2})[\/.-](\d{1,4})\]/i;
  const m = at.exec(meta || '');
  if (!m) return null;
  let hour = Number(m[1]) % (m[3] ? 12 : 24);
  if (m[3] && low(m[3]) === 'p') hour += 12;
  const a = Number(m[4]), b = Number(m[5]), c = Number(m[6]);
  const year = a > 31 ? a : (c < 100 ? 2000 + c : c);
  const options = a > 31 ? [[b, c]] : [[b, a], [a, b]];  // [month, day]
  const now = Date.now();
  const times = options.filter(([mo, d]) => mo >= 1 && mo <= 12 && d >= 1 && d <= 31)
    .map(([mo, d]) => new Date(year, mo - 1, d, hour, Number(m[2])).getTime())
    .filter((t) => t <= now + 86400000).sort((x, y) => Math.abs(now - x) - Math.abs(now - y));
  return times.length ? times[0] / 1000 : null;
};
const labels = S.OUTGOING_ACK_LABELS || [];
const rows = Array.from(pane.querySelectorAll(S.MESSAGE_ROW)).map((row) => {
  const id = row.getAttribute('data-id') || '';
  const meta = row.querySelector(S.MESSAGE_META);
  const text = row.querySelector(S.MESSAGE_TEXT);
  const seen = Array.from(row.querySelectorAll('[aria-label]')).map((el) => low(el.getAttribute('aria-label')).trim());
  const at = labels.findIndex((label) => seen.includes(label));
  return {id: id, out: id.startsWith('true_'), text: text ? String(text.innerText || text.textContent).trim() : '',
    time: meta ? when(meta.getAttribute('data-pre-plain-text')) : null, ack: at >= 0 ? at - 1 : null};
});
const start = S.CHAT_START_TEXTS.some((t) => low(pane.innerText || pane.textContent).includes(t));
return rows.length || start ? {rows: rows, start: start} : null;
"""

#: The outgoing message ids on the page now.
OUTGOING_IDS_SCRIPT = r"""
return Array.from(document.querySelectorAll(arguments[0].OUTGOING_MESSAGE)).map((el) => el.getAttribute('data-id'));
"""
