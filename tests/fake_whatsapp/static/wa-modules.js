/* WhatsApp's own modules, as Meta's loader serves them: window.require(NAME) for three models that
   are Backbone-like emitters. The page (wa.js) owns the models and decides when the loader exists. */
(function () {
  "use strict";

  var VERSION = "2.3000.1030000000";

  function Emitter(props) {
    this._events = {};
    for (var key in props) if (Object.prototype.hasOwnProperty.call(props, key)) this[key] = props[key];
  }

  Emitter.prototype.on = function (event, callback, context) {
    if (typeof callback !== "function") return this;
    (this._events[event] = this._events[event] || []).push({callback: callback, context: context});
    return this;
  };

  Emitter.prototype.off = function (event, callback) {
    if (!event) { this._events = {}; return this; }
    if (!callback) { delete this._events[event]; return this; }
    this._events[event] = (this._events[event] || []).filter(function (h) { return h.callback !== callback; });
    return this;
  };

  Emitter.prototype.once = function (event, callback, context) {
    var self = this;
    function once() { self.off(event, once); return callback.apply(context || self, arguments); }
    return this.on(event, once, context);
  };

  Emitter.prototype.trigger = function (event) {
    var args = Array.prototype.slice.call(arguments, 1);
    var handlers = (this._events[event] || []).slice();
    for (var i = 0; i < handlers.length; i++) {
      try { handlers[i].callback.apply(handlers[i].context || this, args); } catch (e) { console.error(e); }
    }
    // Like Backbone: a model's events are the collection's events too.
    if (this.collection) this.collection.trigger.apply(this.collection, arguments);
    return this;
  };

  /* Set a property; when it changed, emit "change:NAME" (model, value) then "change" (model). */
  Emitter.prototype.set = function (name, value) {
    var same = this[name] === value ||
      (value && this[name] && typeof value === "object" && JSON.stringify(value) === JSON.stringify(this[name]));
    if (same) return false;
    this[name] = value;
    this.trigger("change:" + name, this, value);
    this.trigger("change", this);
    return true;
  };

  /* A Backbone-like collection of models keyed by String(id): get(key object or string), add() (emits "add"). */
  function Collection() {
    Emitter.call(this, {});
    this.models = [];
    this._byId = {};
  }
  Collection.prototype = Object.create(Emitter.prototype);
  Collection.prototype.get = function (id) {
    return id === undefined || id === null ? undefined : this._byId[String(id)];
  };
  Collection.prototype.add = function (model) {
    var key = String(model.id);
    if (this._byId[key]) return this._byId[key];
    model.collection = this;
    this._byId[key] = model;
    this.models.push(model);
    this.trigger("add", model, this);
    return model;
  };
  Collection.prototype.getModelsArray = function () { return this.models.slice(); };

  /* WAWebWidFactory.createWid("5511…@c.us" | "1234@lid" | "5511…"). */
  function Wid(serialized) {
    var text = String(serialized);
    if (text.indexOf("@") < 0) text += "@c.us";
    var parts = text.split("@");
    this.user = parts[0];
    this.server = parts[1];
    this._serialized = text;
  }
  Wid.prototype.toString = function () { return this._serialized; };
  Wid.prototype.isGroup = function () { return this.server === "g.us"; };
  Wid.prototype.isLid = function () { return this.server === "lid"; };
  Wid.prototype.equals = function (other) { return !!other && String(other) === this._serialized; };

  /* The messaging modules (wa-msg-modules.js): some register late, as on the real site. */
  function createChatModules(actions, Conn) {
    return window.WAMsgModules.create(actions, Conn, {Emitter: Emitter, Collection: Collection, Wid: Wid});
  }

  function create(actions) {
    var Socket = new Emitter({state: "UNLAUNCHED", stream: "DISCONNECTED", hasSynced: false});
    Socket.takeover = function () { return actions.takeover(); };
    Socket.logout = function () { return actions.logout(); };
    var Conn = new Emitter({ref: null, wid: null, pushname: null, platform: "web"});
    var Cmd = new Emitter({});
    Cmd.refreshQR = function () { return actions.refreshQR(); };
    var chat = createChatModules(actions, Conn);
    var modules = {
      WAWebSocketModel: {Socket: Socket},
      WAWebConnModel: {Conn: Conn},
      WAWebCmd: {Cmd: Cmd},
    };
    var messagingReady = false, messagingTimer = null;
    Object.keys(chat).forEach(function (name) {
      if (name.charAt(0) !== "_" && chat._LATE.indexOf(name) < 0) modules[name] = chat[name];
    });
    function require(name) {
      if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
      if (messagingReady && name.charAt(0) !== "_" && Object.prototype.hasOwnProperty.call(chat, name)) {
        return chat[name];
      }
      throw new Error('Requiring unknown module "' + name + '"');
    }
    var installed = false;
    return {
      Socket: Socket, Conn: Conn, Cmd: Cmd, chat: chat,
      /* The messaging modules register this long after the chats show (once per page load). */
      registerMessagingIn: function (seconds) {
        if (messagingReady || messagingTimer !== null) return;
        messagingTimer = setTimeout(function () { messagingReady = true; }, Math.max(0, seconds) * 1000);
      },
      /* The loader and window.Debug exist only while `on` is true. */
      expose: function (on) {
        if (on && !installed) {
          window.require = require;
          window.Debug = {VERSION: VERSION};
          installed = true;
        } else if (!on && installed) {
          delete window.require;
          delete window.Debug;
          installed = false;
        }
      },
    };
  }

  window.WAModules = {create: create, VERSION: VERSION};
})();
