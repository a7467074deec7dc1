/* Simulated WhatsApp Web: shows what the server says, polling it every poll_ms. */
(function () {
  "use strict";

  // Like WhatsApp's boot: read the logout reason, then drop post_logout/logout_reason from the URL
  // (only the navigation entry still shows them).
  var logoutReason = null;
  (function () {
    var params = new URLSearchParams(location.search);
    if (!params.has("post_logout") && !params.has("logout_reason")) return;
    var reason = parseInt(params.get("logout_reason") || "", 10);
    if (params.has("post_logout") && !isNaN(reason)) logoutReason = reason;
    history.replaceState(null, "", "/");
  })();

  var boot = JSON.parse(document.getElementById("wa-boot").textContent);
  var config = boot.config;
  var V = window.WAViews.create(config.dom_drift);
  var T = V.T;
  var app = document.getElementById("app");
  var layer = document.createElement("div");  // dialogs live outside #app so re-renders keep them
  layer.id = "wa-popovers";
  document.body.appendChild(layer);

  var KEY_WID = "last-wid-md", KEY_SECRET = "WASecretBundle", KEY_BROWSER = "WABrowserId";
  var KEY_LOGGED_OUT = "old-logout-cred", DB_NAME = "wawc";
  var PUSHNAME = "Clinic Reception";
  var BLOCKS = {tos_block: "TOS_BLOCK", smb_tos_block: "SMB_TOS_BLOCK", proxyblock: "PROXYBLOCK",
    deprecated_version: "DEPRECATED_VERSION"};
  // Screens whose server answer WAWebBackendEventBus carries, again at every reconnect attempt (~1 s).
  var BUS_BLOCKS = {smb_tos_block: "account_temporarily_banned", service_unavailable: "service_unavailable_503"};
  var busBlockAt = 0;

  var conn = null;          // our connection id (from /_wa/hello)
  var view = "startup";     // what we show; reported on every poll
  var mounted = false;      // the startup screen is gone: the app runs
  var shownScreen = "";     // the `screen` knob as this page shows it ("" = the normal flow)
  var revoked = false;      // our stored device was unlinked
  var leaving = false;      // logging out: no more polls
  var conflict = null;      // null, "dialog" (showing) or "closed" (dismissed: this page stays disconnected)
  var stayLoggedIn = config.stay_logged_in_default;
  var pairingUntil = 0;     // Socket.state is PAIRING until then (right after a scan)
  var synced = false;       // the chat list has shown
  var whatsNewShown = false;  // the "What's new" dialog shows once per page load
  var qr = {box: null, canvas: null, payload: null, expired: false};
  var pairing = {box: null, holder: null, code: null, expired: false};
  var conflictDialog = null, connectingDialog = null, whatsNewDialog = null, offlineBanner = null;
  var queue = Promise.resolve();  // every request of the page, one after another
  var wake = null, pollAgain = false;

  var modules = window.WAModules.create({takeover: takeOver, logout: moduleLogout, refreshQR: moduleRefreshQr,
    exists: queryExists, send: function (payload) { return sendMessage(payload, "modules"); },
    config: function () { return config; }, report: report});
  var chat = window.WAChat.create({modules: modules, config: function () { return config; }, exists: queryExists,
    send: sendMessage, app: app, layer: layer, V: V, route: boot.send || null});
  var modulesDue = false;   // modules_delay_s has passed

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, Math.max(0, ms)); }); }

  function serial(task) {
    var run = queue.then(task, task);
    queue = run.catch(function () {});
    return run;
  }

  async function api(path, body) {
    var response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), cache: "no-store"});
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return {status: response.status, data: data};
  }

  function report(name, value) {
    var body = {connection: conn, event: name};
    if (value !== undefined) body.value = value;
    return api("/_wa/event", body).catch(function () {});
  }

  // ---- WhatsApp's modules: what they say follows what the page shows ----

  function syncModules() {
    modules.expose(modulesDue && config.modules && config.screen !== "unknown" && shownScreen !== "unknown");
  }

  function socketState() {
    if (BLOCKS[shownScreen]) return BLOCKS[shownScreen];
    if (shownScreen === "other_tab" || shownScreen === "unknown") return "UNLAUNCHED";
    if (shownScreen === "service_unavailable" || shownScreen === "unknown_opening") return "OPENING";
    if (conflict) return "CONFLICT";
    if (shownScreen === "offline" || (!mounted && config.screen === "offline" && connectingDialog)) {
      return mounted ? "TIMEOUT" : "OPENING";
    }
    switch (view) {
      case "startup": return conn ? "OPENING" : "UNLAUNCHED";
      case "qr": case "phone_input": case "pairing_code": return "UNPAIRED";
      case "qr_expired": case "pairing_expired": return "UNPAIRED_IDLE";
      case "loading": return Date.now() < pairingUntil ? "PAIRING" : "CONNECTED";
      case "chats": return "CONNECTED";
      case "passkey": return "PAIRING";
      default: return modules.Socket.state;  // logging out: unchanged until the reload
    }
  }

  /* WAWebStreamModel's Stream.mode (late 2026), following Socket.state; null before the socket opens. */
  function streamMode(state) {
    if (BLOCKS[shownScreen]) return state;
    switch (state) {
      case "CONFLICT": return "CONFLICT";
      case "TIMEOUT": return "OFFLINE";
      case "UNPAIRED": case "UNPAIRED_IDLE": return "QR";
      case "PAIRING": return "SYNCING";
      case "CONNECTED": return view === "chats" ? "MAIN" : "SYNCING";
      default: return null;
    }
  }

  function refreshModel() {
    var linked = storedDevice();
    var wid = linked && !revoked ? parseWid(linked.wid) : null;
    modules.Conn.set("wid", wid);
    modules.Conn.set("pushname", wid ? PUSHNAME : null);
    var showing = view === "qr" && shownScreen === "" && qr.payload && !qr.expired;
    modules.Conn.set("ref", showing ? qr.payload.split(",")[0] : null);
    var state = socketState();
    modules.Socket.set("stream", view === "loading" ? "SYNCING" : view === "chats" ? "CONNECTED" : "DISCONNECTED");
    modules.Socket.set("state", state);
    modules.Socket.set("hasSynced", synced && !!wid);
    modules.Stream.set("mode", streamMode(state));
  }

  function setView(name) {
    view = name;
    refreshModel();
  }

  function parseWid(serialized) {
    var match = /^(\d+):(\d+)@(.+)$/.exec(serialized || "");
    if (!match) return null;
    return {user: match[1], device: Number(match[2]), server: match[3], _serialized: serialized};
  }

  function takeOver() {
    if (!conflict) return Promise.resolve(false);
    return serial(async function () {
      await api("/_wa/conflict", {connection: conn, take_over: true});
      closeConflictDialog();
      conflict = null;
      refreshModel();
      return true;
    });
  }

  function moduleLogout() {
    return serial(async function () {
      await api("/_wa/logout", {connection: conn, via: "module"});
      logOut();
    });
  }

  function moduleRefreshQr() {
    report("module_refresh_qr");
    if (view === "qr" || view === "qr_expired") serial(reloadQr);
  }

  // ---- messaging: the server answers for WhatsApp's (queryWidExists, the send itself) ----

  async function queryExists(digits) {
    if (config.exists_delay_s) await sleep(config.exists_delay_s * 1000);
    var answer = await api("/_wa/exists", {connection: conn, phone: digits});
    if (answer.status !== 200) throw new Error("queryWidExists failed (" + answer.status + ")");
    return answer.data.wid;
  }

  async function sendMessage(payload, via) {
    var answer = await api("/_wa/send", {connection: conn, id: payload.id, to: payload.to, text: payload.text,
      via: via});
    return answer.status === 200 ? answer.data : {ack: -1, error: "HTTP " + answer.status};
  }

  // ---- traps: controls that log the account out or drop the session ----

  function trap(node, name, action) {
    node.addEventListener("click", function () {
      serial(async function () {
        try { await api("/_wa/trap", {connection: conn, trap: name}); } catch (e) { /* recorded or not, act */ }
        await action();
      });
    });
  }

  async function unlinkAndLogOut() {
    await api("/_wa/logout", {connection: conn, via: "trap"});
    logOut();
  }

  // ---- storage: what makes a profile "linked" ----

  function storedDevice() {
    for (var store of [localStorage, sessionStorage]) {
      try {
        var bundle = JSON.parse(store.getItem(KEY_SECRET) || "null");
        if (bundle && bundle.token) return bundle;
      } catch (e) { /* not ours */ }
    }
    return null;
  }

  function storedToken() { var device = storedDevice(); return device ? device.token : null; }

  function saveDevice(device) {
    // "Stay logged in" unticked: the login lives in this tab's sessionStorage only and dies with the browser.
    var store = device.keep ? localStorage : sessionStorage;
    store.setItem(KEY_WID, JSON.stringify(device.wid));
    store.setItem(KEY_SECRET, JSON.stringify({token: device.token, wid: device.wid}));
    localStorage.setItem(KEY_BROWSER, JSON.stringify(Math.random().toString(36).slice(2)));
    localStorage.removeItem(KEY_LOGGED_OUT);
    if (!device.keep) return;
    var open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () { open.result.createObjectStore("user", {keyPath: "key"}); };
    open.onsuccess = function () {
      var db = open.result, tx = db.transaction("user", "readwrite");
      tx.objectStore("user").put({key: "device", wid: device.wid, token: device.token, linked_at: Date.now()});
      tx.oncomplete = tx.onabort = function () { db.close(); };
    };
  }

  function deleteDatabase(name) {
    return new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      setTimeout(resolve, 1000);
    });
  }

  async function deleteAllDatabases() {
    var names = [DB_NAME];
    try {
      (await indexedDB.databases()).forEach(function (db) { if (names.indexOf(db.name) < 0) names.push(db.name); });
    } catch (e) { /* older browsers: just ours */ }
    await Promise.all(names.map(deleteDatabase));
  }

  /* `cause` "phone": the phone unlinked us (WhatsApp shows its unexpected-logout modal); else this page did. */
  async function logOut(cause) {
    if (leaving) return;
    leaving = true;
    view = "logging_out";
    modules.busEvent(cause === "phone" ? "unexpected_logout_modal" : "starting_logout");
    if (config.logout_event !== "none") modules.Cmd.trigger(config.logout_event);  // "logout" until mid-2026
    modules.busEvent("logout");
    localStorage.clear();
    sessionStorage.removeItem(KEY_WID);  // sessionStorage is otherwise kept
    sessionStorage.removeItem(KEY_SECRET);
    await deleteAllDatabases();
    localStorage.setItem(KEY_LOGGED_OUT, "1");
    if (config.logout_style === "reload") window.location.reload();
    else window.location.replace("/?post_logout=1&logout_reason=" + config.logout_reason);
  }

  // ---- talking to the server ----

  async function connect() {
    for (;;) {
      try {
        var answer = await api("/_wa/hello", {token: storedToken()});
        if (answer.status === 200) {
          conn = answer.data.connection;
          config = answer.data.config;
          revoked = answer.data.device_status === "revoked";
          if (answer.data.device_status === "none" && storedDevice()) forgetDevice();
          refreshModel();
          return answer.data;
        }
      } catch (e) { /* the server is restarting: try again */ }
      await sleep(500);
    }
  }

  function forgetDevice() {
    // The server does not know our device (the simulator was reset): we are not linked.
    [localStorage, sessionStorage].forEach(function (store) {
      store.removeItem(KEY_WID);
      store.removeItem(KEY_SECRET);
    });
  }

  async function pollOnce() {
    if (leaving || !conn) return config.poll_ms;
    var answer = await api("/_wa/poll", {connection: conn, view: view, shown_ref: qr.payload,
      stay_logged_in: stayLoggedIn});
    if (answer.status === 410) {
      await connect();  // we were dropped (the server was reset or we were frozen): introduce ourselves again
      if (revoked && view !== "startup") logOut("phone");
      return 0;
    }
    return answer.status === 200 ? apply(answer.data) : config.poll_ms;
  }

  async function pollLoop() {
    for (;;) {
      var delay = config.poll_ms;
      try { delay = await serial(pollOnce); } catch (e) { /* offline for a moment */ }
      if (leaving) return;
      if (pollAgain) { pollAgain = false; continue; }
      await new Promise(function (resolve) { wake = resolve; setTimeout(resolve, delay); });
      wake = null;
    }
  }

  function pollNow() { if (wake) wake(); else pollAgain = true; }

  function apply(state) {
    config = state.config;
    syncModules();
    var delay = config.poll_ms;
    if (leaving) return delay;
    revoked = state.revoked;
    if (revoked) {
      if (view !== "startup") logOut("phone");
      return delay;
    }
    if (state.device && !storedToken() && view !== "startup" && view !== "passkey") {
      if (config.passkey_check) {
        showPasskey();
      } else {
        saveDevice(state.device);
        pairingUntil = Date.now() + Math.min(300, config.loading_s * 250);
        showLoading();
      }
    }
    if (mounted) applyScreen();
    if (BUS_BLOCKS[shownScreen] && Date.now() - busBlockAt > 1000) {
      busBlockAt = Date.now();
      modules.busEvent(BUS_BLOCKS[shownScreen]);
    }
    showConflict(state.conflict);
    if (view === "chats" || state.chat) chat.apply(state.chat);
    if (view === "qr" && state.qr) delay = renderQr(state.qr, delay);
    if (view === "pairing_code" && state.pairing) delay = renderPairing(state.pairing, delay);
    refreshModel();
    return delay;
  }

  // ---- the `screen` knob: offline, blocks, unknown, other tab ----

  function applyScreen() {
    var wanted = config.screen;
    if (wanted === shownScreen) return;
    var was = shownScreen;
    shownScreen = wanted;
    if (wanted === "offline") return goOffline();
    if (wanted) {
      closeConflictDialog();
      setScreen(V.fullPage(wanted));
      setView("blocked");
      var refresh = app.querySelector(".full-button");
      if (refresh) refresh.addEventListener("click", function () { window.location.reload(); });
      syncModules();
      return;
    }
    syncModules();
    // Back to normal: reconnect.
    if (was === "offline" && offlineBanner) {
      offlineBanner.remove();
      offlineBanner = null;
      refreshModel();
      return;
    }
    resume();
  }

  function resume() {
    if (storedToken() && !revoked) return showLoading();
    serial(function () { showLanding(); return pollOnce(); });
  }

  function goOffline() {
    if (storedToken() && !revoked && (view === "loading" || view === "chats")) {
      if (view === "chats" && !offlineBanner) {
        offlineBanner = V.offlineBanner();
        var side = app.querySelector("#side");
        if (side) side.insertBefore(offlineBanner, side.children[1] || null);
      }
      refreshModel();
      return;
    }
    // Not linked: the QR page, with "No internet connection" where the QR (or the reload button) was.
    if (!app.querySelector(".landing-qr")) showLanding(true);
    if (!qr.box) placeQrBox(V.qrBox(""));
    var old = qr.box.querySelector("button");
    if (old) old.remove();
    if (qr.canvas) qr.canvas.style.opacity = "0.04";
    qr.box.appendChild(V.offlineButton());
    setView("offline");
  }

  // ---- screens ----

  function setScreen(node) {
    var startup = document.getElementById(V.N.startupId);
    if (startup) startup.remove();  // React removes the startup screen when the app mounts
    mounted = true;
    app.innerHTML = "";
    app.appendChild(node);
    animateProgress(V.progressOf(node));
  }

  function animateProgress(bar) {
    if (!bar) return;
    var value = 0;
    var timer = setInterval(function () {
      if (!bar.isConnected) { clearInterval(timer); return; }
      value = Math.min(95, value + 3);
      V.setProgress(bar, value);
    }, 50);
  }

  function soonest(delay, expiresIn) {
    return expiresIn === null || expiresIn === undefined ? delay : Math.min(delay, expiresIn * 1000 + 5);
  }

  function showLanding(quiet) {
    qr = {box: null, canvas: null, payload: null, expired: false};
    setScreen(V.qrLanding(stayLoggedIn, logoutReason));
    setView("qr");
    var toggle = app.querySelector("#auto-logout-toggle");
    toggle.addEventListener("change", function () {
      stayLoggedIn = toggle.checked;
      serial(function () { return report("auto_logout_toggle", stayLoggedIn); });
    });
    app.querySelector('[data-action="phone-login"]').addEventListener("click", function () {
      serial(function () { showPhoneInput(); return pollOnce(); });
    });
    if (!quiet) pollNow();
  }

  function placeQrBox(box) {
    qr.box = box;
    qr.canvas = box.querySelector("canvas");
    var holder = app.querySelector(".landing-qr");
    holder.innerHTML = "";
    holder.appendChild(box);
  }

  function renderQr(state, delay) {
    if (state.payload && state.payload !== qr.payload) {
      if (!qr.box) placeQrBox(V.qrBox(state.payload));
      qr.box.setAttribute(V.N.refAttr, state.payload);  // the same node, as WhatsApp does
      qr.payload = state.payload;
      if (state.matrix) V.drawQr(qr.canvas, state.matrix);
    }
    if (state.expired && qr.box && !qr.expired) {
      qr.expired = true;
      qr.canvas.style.opacity = "0.04";
      var button = V.reloadButton(T.reloadQr);
      button.addEventListener("click", function () { serial(reloadQr); });
      qr.box.appendChild(button);
      setView("qr_expired");
    }
    refreshModel();
    return soonest(delay, state.expires_in);
  }

  async function reloadQr() {
    if (view !== "qr" && view !== "qr_expired") return;
    var answer = await api("/_wa/qr/reload", {connection: conn});
    if (answer.status !== 200 || !answer.data.qr || view === "offline") return;
    var old = qr.box && qr.box.querySelector("button");
    qr.expired = false;
    view = "qr";
    renderQr(answer.data.qr, config.poll_ms);
    if (old) old.remove();
    if (qr.canvas) qr.canvas.style.opacity = "1";
    refreshModel();
    modules.busEvent("refresh_qr");
  }

  // ---- the passkey check after linking (late 2026, knob passkey_check) ----

  function showPasskey() {
    var screen = V.passkeyScreen();
    setScreen(screen);
    setView("passkey");
    report("passkey_shown");  // kept by the simulator: a test sees it even once the gateway has quit this page
    modules.register(modules.PASSKEY);
    // "Continue" calls navigator.credentials.get: a server's browser has no authenticator to answer it.
    trap(screen.querySelector(".passkey-continue"), "passkey_continue", async function () {});
  }

  function showPhoneInput() {
    setScreen(V.phoneInput());
    setView("phone_input");
    var input = app.querySelector("input"), error = app.querySelector(".phone-error");
    app.querySelector(".next-button").addEventListener("click", function () {
      var digits = input.value.replace(/[\s+\-().]/g, "");
      if (!/^\d+$/.test(digits)) { error.textContent = "Please enter a valid phone number."; return; }
      error.textContent = "";
      serial(async function () {
        var answer = await api("/_wa/pairing", {connection: conn, phone: digits});
        if (answer.status !== 200) { error.textContent = (answer.data || {}).error || "Try again."; return; }
        showPairing(digits, answer.data.pairing);
      });
    });
    bindQrLogin();
  }

  function bindQrLogin() {
    app.querySelector('[data-action="qr-login"]').addEventListener("click", function () {
      serial(function () { showLanding(); return pollOnce(); });
    });
  }

  function showPairing(phone, state) {
    pairing = {box: null, holder: null, code: null, expired: false};
    setScreen(V.pairingScreen(phone));
    setView("pairing_code");
    pairing.holder = app.querySelector(".link-code-box");
    bindQrLogin();
    if (state) renderPairing(state, config.poll_ms);
  }

  function renderPairing(state, delay) {
    if (state.code && state.code !== pairing.code) {
      if (pairing.box && pairing.box.isConnected) {
        V.setLinkCode(pairing.box, state.code);  // the same node, as for the QR
      } else {
        pairing.holder.innerHTML = "";
        pairing.box = V.linkCode(state.code);
        pairing.holder.appendChild(pairing.box);
      }
      pairing.code = state.code;
      pairing.expired = false;
    }
    if (state.expired && !pairing.expired) {
      pairing.expired = true;
      pairing.holder.innerHTML = "";  // an expired code is gone from the screen
      var button = V.reloadButton(T.reloadCode, T.codeExpired);
      button.addEventListener("click", function () {
        serial(async function () {
          var answer = await api("/_wa/pairing", {connection: conn});
          if (answer.status === 200 && answer.data.pairing) {
            setView("pairing_code");
            pairing.code = null;
            renderPairing(answer.data.pairing, config.poll_ms);
          }
        });
      });
      pairing.holder.appendChild(button);
      setView("pairing_expired");
    }
    return soonest(delay, state.expires_in);
  }

  async function showLoading() {
    var theme = config.loading_theme;
    var screen = V.loading(theme);
    setScreen(screen);
    setView("loading");
    var logoutButton = screen.querySelector(".loading-logout");
    if (logoutButton) trap(logoutButton, "loading_log_out", unlinkAndLogOut);
    var title = screen.querySelector(".loading-title"), bar = V.progressOf(screen);
    var began = Date.now(), total = config.loading_s * 1000;
    for (;;) {
      if (leaving || view !== "loading" || !screen.isConnected) return;
      var fraction = total > 0 ? (Date.now() - began) / total : 1;
      if (fraction >= 1) break;
      title.textContent = V.loadingText(theme, fraction);
      V.setProgress(bar, fraction * 100);
      refreshModel();
      await sleep(Math.min(50, total / 20));
    }
    showChats();
  }

  function showChats() {
    synced = true;
    setScreen(V.chats());
    setView("chats");
    if (shownScreen === "offline") goOffline();
    var menuButton = app.querySelector('[aria-label="Menu"]');
    menuButton.addEventListener("click", function (event) {
      event.stopPropagation();
      if (whatsNewDialog) return;  // covered: the click never reaches the menu
      var open = app.querySelector(".menu-dropdown");
      if (open) { open.remove(); return; }
      var list = V.menu();
      menuButton.parentNode.appendChild(list);
      list.addEventListener("click", function (click) {
        var item = click.target.closest("li");
        list.remove();
        if (item && item.getAttribute("data-item") === "Log out") confirmLogout();
      });
    });
    if (config.whats_new && !whatsNewShown) showWhatsNew();
    modules.busEvent("main_stream_mode_ready");
    chat.onChats();
  }

  function showWhatsNew() {
    whatsNewShown = true;
    whatsNewDialog = V.whatsNew();
    var close = function () {
      if (!whatsNewDialog) return;
      whatsNewDialog.remove();
      whatsNewDialog = null;
      document.removeEventListener("keydown", onKey, true);
      serial(function () { return report("whats_new_closed"); });
    };
    var onKey = function (event) { if (event.key === "Escape") close(); };
    whatsNewDialog.querySelector('[data-button="ok"]').addEventListener("click", close);
    whatsNewDialog.querySelector('[data-button="close"]').addEventListener("click", close);
    document.addEventListener("keydown", onKey, true);
    layer.appendChild(whatsNewDialog);
  }

  function confirmLogout() {
    var box = V.dialog("Log out?", "Are you sure you want to log out?", ["Cancel", "Log out"]);
    box.querySelector('[data-button="Cancel"]').addEventListener("click", function () { box.remove(); });
    box.querySelector('[data-button="Log out"]').addEventListener("click", function () {
      serial(async function () {
        await api("/_wa/logout", {connection: conn, via: "menu"});
        logOut();
      });
    });
    layer.appendChild(box);
  }

  function closeConflictDialog() {
    if (conflictDialog) conflictDialog.remove();
    conflictDialog = null;
  }

  function showConflict(variant) {
    if (variant && !conflictDialog) {
      conflict = "dialog";
      conflictDialog = V.conflictDialog(variant);
      conflictDialog.querySelector('[data-button="use-here"]').addEventListener("click", function () {
        takeOver();
      });
      var logOutButton = conflictDialog.querySelector('[data-button="log-out"]');
      if (logOutButton) trap(logOutButton, "conflict_log_out", unlinkAndLogOut);
      var closeButton = conflictDialog.querySelector('[data-button="close"]');
      if (closeButton) {
        trap(closeButton, "conflict_close", async function () {
          // The dialog goes; this page stays disconnected (Socket.state CONFLICT) until Socket.takeover().
          await api("/_wa/conflict", {connection: conn, take_over: false});
          closeConflictDialog();
          conflict = "closed";
          refreshModel();
        });
      }
      layer.appendChild(conflictDialog);
      refreshModel();
    } else if (!variant && conflictDialog && conflict === "dialog") {
      closeConflictDialog();
      conflict = null;
      refreshModel();
    }
  }

  // ---- start: the startup screen, then whatever the stored device allows ----

  function showConnectingDialog() {
    if (connectingDialog) return;
    connectingDialog = V.connectingDialog();
    trap(connectingDialog.querySelector('[data-button="log-out"]'), "connecting_log_out", async function () {
      if (storedToken()) await api("/_wa/logout", {connection: conn, via: "trap"});
      logOut();
    });
    layer.appendChild(connectingDialog);
    refreshModel();
  }

  async function start() {
    var began = Date.now();
    animateProgress(V.progressOf(document.getElementById(V.N.startupId)));
    if (config.modules_on_demand) modules.hold(modules.LATE);  // "Requiring unknown module" until they register
    setTimeout(function () {
      modulesDue = true;
      syncModules();
      setTimeout(function () { modules.register(modules.LATE); }, config.late_modules_s * 1000);
    }, config.modules_delay_s * 1000);
    var hello = await connect();
    syncModules();
    pollLoop();
    await sleep(config.startup_s * 1000 - (Date.now() - began));
    while (config.never_show_qr || config.screen === "offline") {
      if (leaving) return;
      if (config.screen === "offline") showConnectingDialog();
      await sleep(config.poll_ms);
    }
    if (connectingDialog) { connectingDialog.remove(); connectingDialog = null; }
    if (leaving) return;
    if (revoked) return logOut("phone");
    if (config.screen) {
      mounted = true;
      return applyScreen();
    }
    if (hello.device_status === "linked" && storedToken()) return showLoading();
    serial(function () { showLanding(); return pollOnce(); });
  }

  window.addEventListener("pagehide", function () {
    if (conn) navigator.sendBeacon("/_wa/bye", JSON.stringify({connection: conn}));
  });
  refreshModel();
  start();
})();
