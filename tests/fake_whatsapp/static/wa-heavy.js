/* The heavy live page (knob `heavy`, for `make bench` and tests/test_listening.py): once the chats show, 300
   chats and an open chat of 300 messages, with presence and last lines changing every 0.5 s, as on a busy
   clinic's phone. Texts avoid every sign the gateway reads. The churn is seeded: the same page every run. */
(function () {
  "use strict";
  var boot = JSON.parse(document.getElementById("wa-boot").textContent);
  if (!boot.config || !boot.config.heavy) return;
  var CHATS = 300, MESSAGES = 300, TICK_MS = 500, CHANGES_PER_TICK = 12;
  var PRESENCE = ["online", "typing\u2026", "last seen today at 09:41", "recording audio\u2026"];
  var seed = 21;
  var filled = null, ticks = 0;

  function random() {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  }

  function row(i) {
    return '<div role="row" tabindex="-1" class="chat-row heavy-row"><div class="chat-avatar"></div>' +
      '<div class="chat-body"><div class="chat-top"><span dir="auto" title="Patient ' + i + '">Patient ' + i +
      '</span><span class="chat-time">08:' + String(i % 60).padStart(2, "0") + '</span></div>' +
      '<div class="chat-last"><span dir="ltr">See you on Tuesday, thank you (' + i + ')</span></div></div></div>';
  }

  function conversation() {
    var lines = [];
    for (var i = 0; i < MESSAGES; i++) {
      lines.push('<div class="heavy-message ' + (i % 3 ? "in" : "mine") + '"><span dir="ltr">Message ' + i +
        ' about the appointment on day ' + (i % 28 + 1) + '</span><span class="heavy-time">09:' +
        String(i % 60).padStart(2, "0") + '</span></div>');
    }
    return '<div class="heavy-chat" style="flex:1;display:flex;flex-direction:column;overflow:hidden">' +
      '<header style="padding:8px 16px;border-bottom:1px solid #ddd"><span dir="auto">Patient 1</span> ' +
      '<span class="heavy-presence">online</span></header>' +
      '<div class="heavy-messages" style="flex:1;overflow-y:auto;padding:8px 16px">' + lines.join("") +
      '</div></div>';
  }

  function fill(pane) {
    var rows = [];
    for (var i = pane.children.length; i < CHATS; i++) rows.push(row(i + 1));
    pane.insertAdjacentHTML("beforeend", rows.join(""));
    pane.style.overflowY = "auto";
    var main = document.querySelector(".main-empty");
    if (main) main.outerHTML = conversation();
    var messages = document.querySelector(".heavy-messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function tick() {
    var first = document.querySelector(".chat-row");
    var pane = first && first.parentElement;
    if (!pane) { filled = null; return; }
    if (filled !== pane) { fill(pane); filled = pane; }
    ticks += 1;
    var lasts = pane.querySelectorAll(".chat-last span");
    for (var n = 0; n < CHANGES_PER_TICK && lasts.length; n++) {
      var at = Math.floor(random() * lasts.length);
      lasts[at].textContent = random() < 0.5 ? "typing\u2026" : "See you on Tuesday, thank you (" + ticks + ")";
    }
    var presence = document.querySelector(".heavy-presence");
    if (presence) presence.textContent = PRESENCE[Math.floor(random() * PRESENCE.length)];
  }

  setInterval(tick, TICK_MS);
})();
