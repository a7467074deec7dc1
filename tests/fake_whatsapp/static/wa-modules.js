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

  function create(actions) {
    var Socket = new Emitter({state: "UNLAUNCHED", stream: "DISCONNECTED", hasSynced: false});
    Socket.takeover = function () { return actions.takeover(); };
    Socket.logout = function () { return actions.logout(); };
    var Conn = new Emitter({ref: null, wid: null, pushname: null, platform: "web"});
    var Cmd = new Emitter({});
    Cmd.refreshQR = function () { return actions.refreshQR(); };
    var modules = {
      WAWebSocketModel: {Socket: Socket},
      WAWebConnModel: {Conn: Conn},
      WAWebCmd: {Cmd: Cmd},
    };
    function require(name) {
      if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
      throw new Error('Requiring unknown module "' + name + '"');
    }
    var installed = false;
    return {
      Socket: Socket, Conn: Conn, Cmd: Cmd,
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
