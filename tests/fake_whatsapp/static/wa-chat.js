/* Messaging in the simulated page: acks and patients' messages from the server into WhatsApp's Msg
   collection, the "account may be restricted" notice, and the click-to-chat route /send?phone=&text=
   with its Send button or its invalid-number dialog. */
(function () {
  "use strict";

  var TEXT = {
    restricted: "Your account may be restricted soon. Too many people have blocked or reported your messages.",
    invalid: "Phone number shared via url is invalid.",
    typeMessage: "Type a message",
    send: "Send",
    chatStart: "Messages and calls are end-to-end encrypted. Only people in this chat can read, listen to, or " +
      "share them.",
  };
  var PUSHNAME = "Clinic";
  var ACK_ICONS = {"-1": ["msg-error", " Error "], 0: ["msg-time", " Pending "], 1: ["msg-check", " Sent "],
    2: ["msg-dblcheck", " Delivered "], 3: ["msg-dblcheck", " Read "], 4: ["msg-dblcheck", " Played "]};
  var DECRYPT_MS = 150;  // a patient's message shows as "ciphertext" for this long

  var escapeHtml = window.WAViews.escapeHtml, element = window.WAViews.element;  // wa-views.js loads first

  /* hooks: {modules, config(), send(payload, via), exists(digits), app, layer, V, route} */
  function create(hooks) {
    var chat = hooks.modules.chat;
    var Msg = chat.WAWebCollections.Msg;
    var rows = {};  // message id -> its row in the open conversation

    function me() { var u = chat.WAWebUserPrefsMeUser.getMaybeMeUser(); return u || new chat._Wid("0@c.us"); }

    function setAck(model, ack) {
      if (model.ack === ack || (ack >= 0 && model.ack > ack)) return;
      if (ack === 3 && !hooks.config().read_ack_event) model.ack = ack;  // no change:ack event, as sometimes
      else model.set("ack", ack);
      showAck(String(model.id), ack);
    }

    function receive(message) {
      var wid = new chat._Wid(message.jid);
      var key = message.id.split("_");
      var model = new chat._Emitter({
        id: new chat._MsgKey({fromMe: false, remote: wid, id: key[key.length - 1]}),
        from: wid, to: me(), author: undefined, body: "", type: "ciphertext", t: Math.floor(message.time),
        isNewMsg: true, ack: 1, quotedStanzaID: message.quoted || undefined,
      });
      chat._addMsg(model);
      setTimeout(function () {  // decrypted: the real type and body arrive as changes
        model.set("body", message.text);
        model.set("type", "chat");
      }, DECRYPT_MS);
    }

    /* A page that loads again: the chats at once, their recent messages history_delay_s later. */
    function restoreHistory(history) {
      chat._remember(history.records);
      (history.records || []).forEach(function (record) {
        var model = chat._chatFor(new chat._Wid(record.jid), "createChat");
        if (record.time > model.t) model.set("t", Math.floor(record.time));
      });
      setTimeout(function () { chat._restore(); }, hooks.config().history_delay_s * 1000);
    }

    function apply(state) {
      showRestricted();
      if (!state) return;
      chat._setLock(state.timelock_until);
      if (state.history) restoreHistory(state.history);
      Object.keys(state.acks || {}).forEach(function (id) {
        var model = Msg.get(id);
        if (model) setAck(model, state.acks[id]);
      });
      (state.incoming || []).forEach(receive);
    }

    function showRestricted() {
      var side = hooks.app.querySelector("#side");
      var banner = document.getElementById("wa-restricted");
      if (hooks.config().restricted && side && !banner) {
        side.insertBefore(element('<div id="wa-restricted" role="alert" class="restricted-banner">' +
          '<span data-icon="alert-notification"></span> ' + escapeHtml(TEXT.restricted) + '</div>'), side.firstChild);
      } else if (!hooks.config().restricted && banner) {
        banner.remove();
      }
    }

    /* What the page sends (modules or the Send button): the same message object whatsapp-web.js builds. */
    async function sendFromPage(chatModel, text) {
      var id = new chat._MsgKey({from: me(), to: chatModel.id, id: await chat._MsgKey.newId(), selfDir: "out"});
      var model = new chat._Emitter({id: id, ack: 0, body: text, from: me(), to: chatModel.id, local: true,
        self: "out", t: Math.floor(Date.now() / 1000), isNewMsg: true, type: "chat"});
      chat._addMsg(model);
      addRow(model);
      var answer = await hooks.send({id: String(id), to: String(chatModel.id), text: text}, "page");
      setAck(model, answer.ack);
    }

    function two(n) { return ("0" + n).slice(-2); }

    /* "[10:32, 03/12/2026] Name: " as WhatsApp Web writes it on a row (the browser's local time). */
    function prePlain(model) {
      var d = new Date(model.t * 1000);
      var who = model.id.fromMe ? PUSHNAME : String(model.from.user || model.from);
      return "[" + two(d.getHours()) + ":" + two(d.getMinutes()) + ", " + two(d.getDate()) + "/" +
        two(d.getMonth() + 1) + "/" + d.getFullYear() + "] " + who + ": ";
    }

    function addRow(model) {
      var list = hooks.app.querySelector(".conversation-messages");
      if (!list) return;
      var id = String(model.id);
      var row = element('<div role="row"><div class="' + (model.id.fromMe ? "message-out" : "message-in") +
        '" data-id="' + escapeHtml(id) + '"><div class="copyable-text" data-pre-plain-text="' +
        escapeHtml(prePlain(model)) + '"><span class="message-text selectable-text" dir="ltr">' +
        escapeHtml(model.body) + '</span></div> <span class="message-ack"></span></div></div>');
      list.appendChild(row);
      if (!model.id.fromMe) return;
      rows[id] = row;
      showAck(id, model.ack);
    }

    /* The chat's history in the open conversation: its beginning, then every message the page holds. */
    function showHistory(chatModel) {
      var list = hooks.app.querySelector(".conversation-messages");
      if (!list) return;
      list.appendChild(element('<div role="row" class="chat-start"><span>' + escapeHtml(TEXT.chatStart) +
        '</span></div>'));
      chat._restore(String(chatModel.id));
      chatModel.msgs.getModelsArray().forEach(addRow);
    }

    function showAck(id, ack) {
      var row = rows[id];
      if (!row) return;
      var icon = ACK_ICONS[ack] || ACK_ICONS[0];
      row.querySelector(".message-ack").innerHTML = '<span data-icon="' + icon[0] + '" aria-label="' + icon[1] +
        '"></span>';
    }

    /* The click-to-chat route, once the chat list shows. */
    async function openRoute() {
      var route = hooks.route;
      if (!route || route.opened) return;
      route.opened = true;
      var jid = route.phone ? await hooks.exists(route.phone) : null;
      if (!jid) {
        var box = hooks.V.dialog(null, TEXT.invalid, [["OK", "ok"]]);
        box.querySelector('[data-button="ok"]').addEventListener("click", function () { box.remove(); });
        hooks.layer.appendChild(box);
        return;
      }
      var chatModel = chat._chatFor(new chat._Wid(jid), "createChat");
      var main = hooks.app.querySelector(".main-empty");
      if (!main) return;
      var icon = hooks.V.N === window.WAViews.DRIFT ? "wds-ic-send-filled" : "send";
      var pane = element('<div id="main" class="conversation"><header class="conversation-header">' +
        '<span dir="auto" title="' + escapeHtml("+" + route.phone) + '">' + escapeHtml("+" + route.phone) +
        '</span></header><div class="conversation-messages" role="application"></div>' +
        '<footer class="conversation-footer"><div contenteditable="true" role="textbox" class="compose" ' +
        'aria-label="' + TEXT.typeMessage + '" data-tab="10"></div>' +
        '<button type="button" aria-label="' + TEXT.send + '" class="send-button"><span data-icon="' + icon +
        '"></span></button></footer></div>');
      main.replaceWith(pane);
      showHistory(chatModel);
      var compose = pane.querySelector(".compose");
      compose.textContent = route.text;
      pane.querySelector(".send-button").addEventListener("click", function () {
        var text = compose.textContent.trim();
        if (!text) return;
        compose.textContent = "";
        sendFromPage(chatModel, text);
      });
    }

    function onChats() {
      hooks.modules.registerMessagingIn(hooks.config().messaging_modules_delay_s);
      showRestricted();
      openRoute();
    }

    return {apply: apply, onChats: onChats};
  }

  window.WAChat = {create: create, TEXT: TEXT};
})();
