// The front-desk page: shows the session in plain words, the QR (or a pairing code) and the buttons.
// Updates come over Socket.IO when it is available, otherwise from /status every 1.5 s.
(function () {
  "use strict";

  // The gateway's names (wa_client/names.py), written into the page by its template: events, the QR image URL.
  var NAMES = JSON.parse(document.getElementById("wa-names").textContent);
  var EVENT = NAMES.events;
  var TOKEN_KEY = "waGatewayToken";
  var POLL_MS = 1500;
  var LOG_SIZE = 30;
  var STOPPED = ["idle", "disconnected", "failed"];
  var WORDS = window.WaWords;  // words.js: the status in plain words

  var $ = function (id) { return document.getElementById(id); };
  var card = $("status-card"), headline = $("headline"), detail = $("detail");
  var qrBox = $("qr-box"), qrImg = $("qr-img"), qrWait = $("qr-wait");
  var generateBtn = $("generate"), resetBtn = $("reset"), linkPill = $("link");
  var tokenForm = $("token-form"), tokenInput = $("token-input"), logList = $("log");
  var logoutBtn = $("logout"), useHereBtn = $("use-here");
  var phoneForm = $("phone-form"), phoneInput = $("phone-input"), phoneSubmit = $("phone-submit");
  var phoneError = $("phone-error");

  var token = localStorage.getItem(TOKEN_KEY) || "";
  var current = null;          // the last status shown
  var shownVersion = null;     // the QR version on screen
  var wantedVersion = null;    // the newest QR version we know of
  var shownUrl = null;         // its blob: URL
  var busy = false;            // a command is under way
  var needToken = false;
  var socket = null;
  var pollTimer = null;

  function authHeaders() {
    return token ? { Authorization: "Bearer " + token } : {};
  }

  function log(text) {
    var item = document.createElement("li");
    var time = document.createElement("time");
    var now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    item.appendChild(time);
    item.appendChild(document.createTextNode(text));
    logList.insertBefore(item, logList.firstChild);
    while (logList.children.length > LOG_SIZE) logList.removeChild(logList.lastChild);
  }

  function updateButtons() {
    var known = current !== null && !needToken;
    generateBtn.disabled = busy || !known || STOPPED.indexOf(current.state) < 0;
    resetBtn.disabled = busy || !known;
    logoutBtn.disabled = busy || !known || current.state !== "connected";
    useHereBtn.hidden = !known || current.state !== "conflict";
    useHereBtn.disabled = busy;
    phoneSubmit.disabled = busy;
  }

  function render(s) {
    if (!s || typeof s.state !== "string") return;
    if (current && s.since && current.since && s.since < current.since) return;  // an older answer
    var changed = !current || current.state !== s.state || current.reason !== s.reason;
    current = s;
    var words = WORDS.describe(s);
    card.dataset.state = s.state;
    headline.textContent = words[0];
    detail.textContent = words[1];
    if (changed) log(words[0]);
    if (s.state === "qr" && s.qr_version != null) {
      qrBox.hidden = false;
      showQr(s.qr_version);
    } else {
      hideQr();
    }
    $("pairing").hidden = !s.pairing_code;
    $("pairing-code").textContent = s.pairing_code || "";
    phoneForm.hidden = s.state !== "qr" || !!s.pairing_code;
    if (s.state !== "qr") phoneError.hidden = true;
    updateButtons();
  }

  function hideQr() {
    qrBox.hidden = true;
    qrImg.hidden = true;
    qrWait.hidden = false;
    qrImg.removeAttribute("src");
    delete qrImg.dataset.version;
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = null;
    shownVersion = null;
    wantedVersion = null;
  }

  function qrImageUrl(version) {
    return NAMES.qr_image_url.replace("{version}", String(version));
  }

  // Fetch the PNG (with the token), decode it off-screen, and only then swap it in: no flicker.
  function showQr(version) {
    if (version === shownVersion || (wantedVersion !== null && version <= wantedVersion)) return;
    wantedVersion = version;
    var served = version;  // the code may have rotated meanwhile: the ETag says which one came
    fetch(qrImageUrl(version), { headers: authHeaders(), cache: "no-store" })
      .then(function (res) {
        served = parseInt(String(res.headers.get("ETag") || "").replace(/\D/g, ""), 10) || version;
        return res.ok ? res.blob() : null;
      })
      .then(function (blob) {
        if (!blob || version !== wantedVersion || (shownVersion !== null && served <= shownVersion)) return null;
        var url = URL.createObjectURL(blob);
        var probe = new Image();
        probe.src = url;
        return probe.decode().then(function () { return url; }, function () { URL.revokeObjectURL(url); });
      })
      .then(function (url) {
        if (!url) return;
        if (version !== wantedVersion || !current || current.state !== "qr") {
          URL.revokeObjectURL(url);
          return;
        }
        var old = shownUrl;
        qrImg.src = url;
        qrImg.dataset.version = String(served);
        qrImg.hidden = false;
        qrWait.hidden = true;
        shownUrl = url;
        shownVersion = served;
        if (old) URL.revokeObjectURL(old);
      })
      .catch(function () { if (version === wantedVersion) wantedVersion = null; });
  }

  function setLink(kind, text) {
    linkPill.className = "pill " + kind;
    linkPill.textContent = text;
  }

  function askForToken() {
    needToken = true;
    tokenForm.hidden = false;
    headline.textContent = "This page needs the gateway's access token";
    detail.textContent = "";
    updateButtons();
    tokenInput.focus();
  }

  function fetchStatus() {
    return fetch("/status", { headers: authHeaders(), cache: "no-store" })
      .then(function (res) {
        if (res.status === 401) { askForToken(); return null; }
        return res.json();
      })
      .then(function (s) {
        if (!s) return;
        if (!socket || !socket.connected) setLink("", "Updating every few seconds");
        render(s);
      })
      .catch(function () { setLink("down", "Gateway not reachable"); });
  }

  function startPolling() {
    if (pollTimer === null) pollTimer = setInterval(fetchStatus, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      startPolling();
      return;
    }
    // The token goes in the handshake's header too: the gateway then admits the connection at once,
    // instead of keeping it in its small room for connections that have not logged in yet.
    socket = window.io({ auth: function (cb) { cb({ token: token, client: "page" }); },
                         extraHeaders: authHeaders() });
    socket.on("connect", function () { setLink("live", "Live"); stopPolling(); });
    socket.on("disconnect", function () { setLink("down", "Reconnecting…"); startPolling(); });
    socket.on("connect_error", function (err) {
      if (/unauthori/i.test(String(err && err.message))) askForToken();
      startPolling();
    });
    socket.on(EVENT.STATUS, render);
    socket.on(EVENT.QR, function (q) { log("New QR code (" + q.version + ")"); });
    socket.on(EVENT.AUTHENTICATED, function () { log("The phone scanned the code"); });
    socket.on(EVENT.READY, function () { log("WhatsApp is ready"); });
    socket.on(EVENT.DISCONNECTED, function (d) { log("WhatsApp disconnected (" + ((d && d.reason) || "unknown") + ")"); });
  }

  // POST to the gateway; resolves to {res, body}, or null when the token is missing.
  function post(path, payload) {
    var headers = authHeaders();
    headers["X-WA-Client"] = "page";  // shown as the page in /history and the log
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: "POST", headers: headers,
      body: payload === undefined ? undefined : JSON.stringify(payload) })
      .then(function (res) {
        if (res.status === 401) { askForToken(); return null; }
        return res.json().then(function (body) { return { res: res, body: body }; });
      });
  }

  // A button's command: the buttons stay disabled until the gateway answers.
  function command(path, payload, onAnswer) {
    busy = true;
    updateButtons();
    return post(path, payload)
      .then(function (answer) { return answer ? onAnswer(answer) : null; })
      .catch(function (e) { log("The gateway did not answer (" + e + ")"); })
      .then(function () { busy = false; updateButtons(); });
  }

  function afterStatusCommand(name) {
    return function (answer) {
      if (answer.res.ok) { render(answer.body); return null; }
      log(name + " failed: " + answer.body.error);
      return fetchStatus();
    };
  }

  generateBtn.addEventListener("click", function () {
    log("Generate QR clicked");
    command("/start-session", undefined, function (answer) { render(answer.body); });
  });

  resetBtn.addEventListener("click", function () {
    if (current && current.state === "connected" &&
        !window.confirm("WhatsApp is connected. Force Reset logs the clinic out; you will have to scan a new code. Continue?")) {
      return;
    }
    log("Force Reset clicked");
    command("/force-reset", undefined, function (answer) {
      log(answer.body.ok ? "Force Reset done" : "Force Reset failed: " + answer.body.error);
      return fetchStatus();
    });
  });

  logoutBtn.addEventListener("click", function () {
    if (!window.confirm("Log the clinic out of WhatsApp? This device is removed from the phone's " +
        "Linked devices; you will have to link it again.")) {
      return;
    }
    log("Log out clicked");
    command("/logout", undefined, afterStatusCommand("Log out"));
  });

  useHereBtn.addEventListener("click", function () {
    log("Use here clicked");
    command("/takeover", undefined, afterStatusCommand("Use here"));
  });

  phoneForm.addEventListener("submit", function (event) {
    event.preventDefault();
    phoneError.hidden = true;
    log("Pairing code requested");
    phoneSubmit.textContent = "Asking WhatsApp…";
    command("/pairing-code", { phone: phoneInput.value.trim() }, function (answer) {
      if (answer.res.ok) {
        log("Pairing code " + answer.body.pairing_code);
        render(answer.body.status);
        return null;
      }
      log("No pairing code: " + answer.body.error);
      phoneError.textContent = answer.body.error;
      phoneError.hidden = false;
      return null;
    }).then(function () { phoneSubmit.textContent = "Get code"; });
  });

  tokenForm.addEventListener("submit", function (event) {
    event.preventDefault();
    token = tokenInput.value.trim();
    localStorage.setItem(TOKEN_KEY, token);
    tokenForm.hidden = true;
    needToken = false;
    fetchStatus();
    if (socket) {
      socket.io.opts.extraHeaders = authHeaders();
      socket.connect();
    } else {
      connectSocket();
    }
  });

  fetchStatus();
  connectSocket();
})();
