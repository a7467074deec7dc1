/* Simulated WhatsApp Web: shows what the server says, polling it every poll_ms. */
(function () {
  "use strict";

  var V = window.WAViews;
  var app = document.getElementById("app");
  var layer = document.createElement("div");  // dialogs live outside #app so re-renders keep them
  layer.id = "wa-popovers";
  document.body.appendChild(layer);

  var config = JSON.parse(document.getElementById("wa-boot").textContent).config;
  var KEY_WID = "last-wid-md", KEY_SECRET = "WASecretBundle", KEY_BROWSER = "WABrowserId";
  var KEY_LOGGED_OUT = "old-logout-cred", DB_NAME = "wawc";

  var conn = null;          // our connection id (from /_wa/hello)
  var view = "startup";     // what we show; reported on every poll
  var revoked = false;      // our stored device was unlinked
  var leaving = false;      // logging out: no more polls
  var qr = {box: null, canvas: null, payload: null, expired: false};
  var pairing = {box: null, holder: null, code: null, expired: false};
  var conflictDialog = null;
  var queue = Promise.resolve();  // every request of the page, one after another
  var wake = null, pollAgain = false;

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

  // ---- storage: what makes a profile "linked" ----

  function storedToken() {
    try { return JSON.parse(localStorage.getItem(KEY_SECRET) || "null").token || null; } catch (e) { return null; }
  }

  function saveDevice(device) {
    localStorage.setItem(KEY_WID, JSON.stringify(device.wid));
    localStorage.setItem(KEY_SECRET, JSON.stringify({token: device.token, wid: device.wid}));
    localStorage.setItem(KEY_BROWSER, JSON.stringify(Math.random().toString(36).slice(2)));
    localStorage.removeItem(KEY_LOGGED_OUT);
    var open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () { open.result.createObjectStore("user", {keyPath: "key"}); };
    open.onsuccess = function () {
      var db = open.result, tx = db.transaction("user", "readwrite");
      tx.objectStore("user").put({key: "device", wid: device.wid, token: device.token, linked_at: Date.now()});
      tx.oncomplete = tx.onabort = function () { db.close(); };
    };
  }

  function deleteDatabase() {
    return new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase(DB_NAME);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      setTimeout(resolve, 1000);
    });
  }

  async function logOut() {
    if (leaving) return;
    leaving = true;
    view = "logging_out";
    localStorage.clear();
    await deleteDatabase();
    localStorage.setItem(KEY_LOGGED_OUT, "1");
    window.location.replace("/?post_logout=1&logout_reason=0");
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
          return answer.data;
        }
      } catch (e) { /* the server is restarting: try again */ }
      await sleep(500);
    }
  }

  async function pollOnce() {
    if (leaving || !conn) return config.poll_ms;
    var answer = await api("/_wa/poll", {connection: conn, view: view, shown_ref: qr.payload});
    if (answer.status === 410) {
      await connect();  // we were dropped (the server was reset or we were frozen): introduce ourselves again
      if (revoked && view !== "startup") logOut();
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
    var delay = config.poll_ms;
    if (leaving) return delay;
    revoked = state.revoked;
    if (revoked) {
      if (view !== "startup") logOut();
      return delay;
    }
    if (state.device && !storedToken() && view !== "startup") {
      saveDevice(state.device);
      showLoading();
    }
    showConflict(state.conflict);
    if (view === "qr" && state.qr) delay = renderQr(state.qr, delay);
    if (view === "pairing_code" && state.pairing) delay = renderPairing(state.pairing, delay);
    return delay;
  }

  // ---- screens ----

  function setScreen(node) {
    app.innerHTML = "";
    app.appendChild(node);
    animateProgress(node.querySelector("progress"));
  }

  function animateProgress(bar) {
    if (!bar) return;
    var timer = setInterval(function () {
      if (!bar.isConnected) { clearInterval(timer); return; }
      bar.value = Math.min(95, bar.value + 3);
    }, 50);
  }

  function soonest(delay, expiresIn) {
    return expiresIn === null || expiresIn === undefined ? delay : Math.min(delay, expiresIn * 1000 + 5);
  }

  function showLanding() {
    view = "qr";
    qr = {box: null, canvas: null, payload: null, expired: false};
    setScreen(V.qrLanding());
    app.querySelector('[data-action="phone-login"]').addEventListener("click", function () {
      serial(function () { showPhoneInput(); return pollOnce(); });
    });
    pollNow();
  }

  function renderQr(state, delay) {
    if (state.payload && state.payload !== qr.payload) {
      if (!qr.box) {
        qr.box = V.qrBox(state.payload);
        qr.canvas = qr.box.querySelector("canvas");
        var holder = app.querySelector(".landing-qr");
        holder.innerHTML = "";
        holder.appendChild(qr.box);
      }
      qr.box.setAttribute("data-ref", state.payload);  // the same node, as WhatsApp does
      qr.payload = state.payload;
      if (state.matrix) V.drawQr(qr.canvas, state.matrix);
    }
    if (state.expired && qr.box && !qr.expired) {
      qr.expired = true;
      view = "qr_expired";
      qr.canvas.style.opacity = "0.04";
      var button = V.reloadButton("Click to reload QR code");
      button.addEventListener("click", function () { serial(reloadQr); });
      qr.box.appendChild(button);
    }
    return soonest(delay, state.expires_in);
  }

  async function reloadQr() {
    var answer = await api("/_wa/qr/reload", {connection: conn});
    if (answer.status !== 200 || !answer.data.qr) return;
    var old = qr.box.querySelector("button");
    qr.expired = false;
    view = "qr";
    renderQr(answer.data.qr, config.poll_ms);
    if (old) old.remove();
    qr.canvas.style.opacity = "1";
  }

  function showPhoneInput() {
    view = "phone_input";
    setScreen(V.phoneInput());
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
    view = "pairing_code";
    pairing = {box: null, holder: null, code: null, expired: false};
    setScreen(V.pairingScreen(phone));
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
      view = "pairing_expired";
      pairing.holder.innerHTML = "";  // an expired code is gone from the screen
      var button = V.reloadButton("Click to get a new code");
      button.addEventListener("click", function () {
        serial(async function () {
          var answer = await api("/_wa/pairing", {connection: conn});
          if (answer.status === 200 && answer.data.pairing) {
            view = "pairing_code";
            pairing.code = null;
            renderPairing(answer.data.pairing, config.poll_ms);
          }
        });
      });
      pairing.holder.appendChild(button);
    }
    return soonest(delay, state.expires_in);
  }

  async function showLoading() {
    view = "loading";
    setScreen(V.loading());
    await sleep(config.loading_s * 1000);
    if (!leaving && view === "loading") showChats();
  }

  function showChats() {
    view = "chats";
    setScreen(V.chats());
    var menuButton = app.querySelector('[aria-label="Menu"]');
    menuButton.addEventListener("click", function (event) {
      event.stopPropagation();
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
  }

  function confirmLogout() {
    var box = V.dialog("Log out?", "Are you sure you want to log out?", ["Cancel", "Log out"]);
    box.querySelector('[data-button="Cancel"]').addEventListener("click", function () { box.remove(); });
    box.querySelector('[data-button="Log out"]').addEventListener("click", function () {
      serial(async function () {
        await api("/_wa/logout", {connection: conn});
        logOut();
      });
    });
    layer.appendChild(box);
  }

  function showConflict(on) {
    if (on && !conflictDialog) {
      conflictDialog = V.dialog(null, V.CONFLICT_TEXT, ["Close", "Use here"]);
      var answer = function (takeOver) {
        return function () {
          serial(async function () {
            await api("/_wa/conflict", {connection: conn, take_over: takeOver});
            if (conflictDialog) conflictDialog.remove();
            conflictDialog = null;
          });
        };
      };
      conflictDialog.querySelector('[data-button="Close"]').addEventListener("click", answer(false));
      conflictDialog.querySelector('[data-button="Use here"]').addEventListener("click", answer(true));
      layer.appendChild(conflictDialog);
    } else if (!on && conflictDialog) {
      conflictDialog.remove();
      conflictDialog = null;
    }
  }

  // ---- start: the startup screen, then whatever the stored device allows ----

  async function start() {
    var began = Date.now();
    animateProgress(document.querySelector("#initial_startup progress"));
    var hello = await connect();
    pollLoop();
    await sleep(config.startup_s * 1000 - (Date.now() - began));
    while (config.never_show_qr) await sleep(config.poll_ms);
    if (revoked) return logOut();
    if (hello.device_status === "linked") return showLoading();
    serial(function () { showLanding(); return pollOnce(); });
  }

  window.addEventListener("pagehide", function () {
    if (conn) navigator.sendBeacon("/_wa/bye", JSON.stringify({connection: conn}));
  });
  start();
})();
