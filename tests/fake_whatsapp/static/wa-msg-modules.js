/* WhatsApp's messaging modules, as served in December 2026 (wa-modules.js holds the loader and the models).
   Knobs (config.py, "Messaging, December 2026"): msg_key_serialized (mid-2026 keys), fn_shapes,
   lid_phone_known, reachout_timelock_until_s (through the server), history_delay_s (wa-chat.js). */
(function () {
  "use strict";

  /* Registered only messaging_modules_delay_s after the chats show ("Requiring unknown module" before). */
  var LATE = ["WAWebCollections", "WAWebSendMsgChatAction", "WAWebMsgKey", "WAWebFindChatAction",
    "WAWebQueryExistsJob", "WAWebChatLoadMessages", "WAWebApiContact", "WAWebReachoutTimelockUtils"];
  var LID_ORIGINS = ["createChat"];  // findOrCreateLatestChat origins allowed to create an @lid chat

  function lidOf(digits) { return "9" + digits.split("").reverse().join(""); }  // as mailbox.lid_of

  function create(actions, Conn, kit) {
    var Emitter = kit.Emitter, Collection = kit.Collection, Wid = kit.Wid;
    var legacy = function () { return !!actions.config().msg_key_serialized; };

    /* WAWebMsgKey: {fromMe, remote, id}; String(key) = "true_REMOTE_ID". Late 2026: the serialised form sits
       in a minified own property and `_serialized` is undefined; ids are longer. */
    function MsgKey(props) {
      this.fromMe = props.fromMe !== undefined ? !!props.fromMe : props.selfDir === "out";
      this.remote = props.remote || (this.fromMe ? props.to : props.from);
      this.id = props.id;
      this.participant = props.participant;
      var serialized = this.fromMe + "_" + String(this.remote) + "_" + this.id;
      if (legacy()) this._serialized = serialized;
      else Object.defineProperty(this, "$1", {value: serialized, enumerable: false});
    }
    MsgKey.prototype.toString = function () { return this._serialized || this.$1; };
    MsgKey.newId = function () {
      var bytes = new Uint8Array(legacy() ? 10 : 16);
      crypto.getRandomValues(bytes);
      return Promise.resolve("3EB0" + Array.prototype.map.call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("").toUpperCase());
    };
    MsgKey.fromString = function (text) {  // "true_5511…@c.us_3EB0…" (the server's record)
      var parts = String(text).split("_");
      return new MsgKey({fromMe: parts[0] === "true", remote: new Wid(parts[1]), id: parts.slice(2).join("_")});
    };

    /* A chat's loaded messages (chat.msgs): a list, not a second owner of the models' events. */
    function ChatMsgs() { this.models = []; this._ids = {}; this.msgLoadState = {noEarlierMsgs: false}; }
    ChatMsgs.prototype.getModelsArray = function () { return this.models.slice(); };
    ChatMsgs.prototype.add = function (model) {
      var key = String(model.id);
      if (this._ids[key]) return false;
      this._ids[key] = true;
      this.models.push(model);
      this.models.sort(function (a, b) { return a.t - b.t; });
      return true;
    };

    var Chat = new Collection(), Msg = new Collection(), Contact = new Collection();
    var storage = {};  // the page's own store (IndexedDB): id -> record, from the server's history
    function chatFor(wid, origin) {
      var chat = Chat.get(wid);
      if (!chat) {
        if (wid.server === "lid" && LID_ORIGINS.indexOf(origin) < 0) actions.report("unexpected_lid_chat");
        chat = Chat.add(new Emitter({id: wid, name: wid.user, t: 0, unreadCount: 0, msgs: new ChatMsgs()}));
      }
      return chat;
    }
    function addMsg(model) {
      var added = Msg.add(model);
      var remote = model.id.remote;
      var chat = chatFor(remote, "createChat");
      chat.msgs.add(added);
      if (added.t > chat.t) chat.set("t", added.t);
      return added;
    }
    function modelOf(record) {  // a stored record -> a Msg model (history: not news)
      var key = MsgKey.fromString(record.id);
      var peer = new Wid(record.jid);
      var me = Conn.wid ? new Wid(Conn.wid.user + "@c.us") : new Wid("0@c.us");
      return new Emitter({id: key, from: key.fromMe ? me : peer, to: key.fromMe ? peer : me, body: record.text,
        type: "chat", t: Math.floor(record.time), ack: record.ack === undefined ? 1 : record.ack, isNewMsg: false,
        quotedStanzaID: record.quoted || undefined});
    }
    function remember(records) { (records || []).forEach(function (r) { storage[r.id] = r; }); }
    function restore(onlyJid) {  // stored records of one chat (or all) into the collections; what was new
      return Object.keys(storage).filter(function (id) {
        return !Msg.get(id) && (!onlyJid || storage[id].jid === onlyJid);
      }).map(function (id) { return addMsg(modelOf(storage[id])); });
    }
    function loadEarlier(chat) {
      var loaded = restore(String(chat.id));
      chat.msgs.msgLoadState.noEarlierMsgs = true;
      return Promise.resolve(loaded);
    }
    var shapes = {
      object: function loadEarlierMsgs(params) {
        if (!params || !params.chat || !params.chat.msgs) throw new TypeError("loadEarlierMsgs({chat}) expected");
        return loadEarlier(params.chat);
      },
      positional: function loadEarlierMsgs(chat, msgs) {
        if (!chat || !chat.msgs || msgs !== chat.msgs) throw new TypeError("loadEarlierMsgs(chat, msgs) expected");
        return loadEarlier(chat);
      },
      rest: function loadEarlierMsgs() { throw new TypeError("loadEarlierMsgs: an options bag was expected"); },
    };
    Msg.getMessagesById = function (ids) {
      return Promise.resolve({messages: (ids || []).map(function (id) {
        return Msg.get(id) || (storage[String(id)] ? modelOf(storage[String(id)]) : null);
      }).filter(Boolean)});
    };
    function addAndSendMsgToChat(chat, message) {
      var model = new Emitter(Object.assign({}, message, {ack: 0}));
      var added = Promise.resolve().then(function () {
        var wid = chat.id;
        if (wid.server === "c.us" && actions.config().lid_numbers.indexOf(wid.user) >= 0) {
          throw new Error("No LID for user");
        }
        addMsg(model);
        return [model];
      });
      var sent = added.then(function () {
        return actions.send({id: String(model.id), to: String(chat.id), text: model.body || ""});
      }).then(function (answer) {
        model.set("ack", answer.ack);
        return {messageSendResult: answer.ack >= 0 ? "OK" : "ERROR_UNKNOWN", t: model.t};
      });
      sent.catch(function () {});
      return [added, sent];
    }
    var lockUntil = null;  // epoch seconds, from the server (WAWebGetReachoutTimelockJob)
    return {
      WAWebWidFactory: {createWid: function (id) { return new Wid(id); }},
      WAWebQueryExistsJob: {
        queryWidExists: function (wid) {
          return actions.exists(String(wid.user || wid)).then(function (jid) {
            return jid ? {wid: new Wid(jid)} : null;
          });
        },
      },
      WAWebCollections: {Chat: Chat, Msg: Msg, Contact: Contact},
      WAWebFindChatAction: {
        findOrCreateLatestChat: function (wid, origin) {
          return Promise.resolve().then(function () {
            if (wid.server === "c.us" && actions.config().lid_numbers.indexOf(wid.user) >= 0) {
              throw new Error("No LID for user");
            }
            return {chat: chatFor(wid, origin), created: true};
          });
        },
      },
      WAWebMsgKey: MsgKey,
      WAWebSendMsgChatAction: {addAndSendMsgToChat: addAndSendMsgToChat},
      WAWebChatLoadMessages: {get loadEarlierMsgs() { return shapes[actions.config().fn_shapes]; }},
      WAWebApiContact: {
        getPhoneNumber: function (wid) {
          if (!wid || wid.server !== "lid" || !actions.config().lid_phone_known) return undefined;
          var digits = actions.config().lid_numbers.filter(function (d) { return lidOf(d) === wid.user; })[0];
          return digits ? new Wid(digits + "@c.us") : undefined;
        },
      },
      WAWebReachoutTimelockUtils: {
        isUserReachoutTimelocked: function () { return lockUntil !== null && Date.now() / 1000 < lockUntil; },
        getReachoutTimelockExpiration: function () { return lockUntil; },
      },
      WAWebUserPrefsMeUser: {
        getMaybeMeUser: function () { return Conn.wid ? new Wid(Conn.wid.user + "@c.us") : null; },
        getMaybeMePnUser: function () { return Conn.wid ? new Wid(Conn.wid.user + "@c.us") : null; },
      },
      _chatFor: chatFor, _addMsg: addMsg, _Emitter: Emitter, _Wid: Wid, _MsgKey: MsgKey, _remember: remember,
      _restore: restore, _storage: storage, _LATE: LATE,
      _setLock: function (until) { lockUntil = typeof until === "number" ? until : null; },
    };
  }

  window.WAMsgModules = {create: create, LATE: LATE};
})();
