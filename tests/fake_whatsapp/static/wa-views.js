/* The screens of the simulated WhatsApp Web, as the real page's DOM shows them to a scraper. */
(function () {
  "use strict";

  var LOCK = '<span data-icon="lock-small"></span> End-to-end encrypted';
  var LOGO = '<span data-icon="intro-md-beta-logo-light"></span>';
  var CHATS = [
    ["Reception", "09:12", "Mrs. Costa confirmed her 10:30 appointment"],
    ["Dr. Almeida", "08:47", "Please move my 14:00 to Friday"],
    ["Lab results", "Yesterday", "Blood panel for J. Pereira is ready"],
    ["Pharmacy", "Monday", "Order #5531 delivered"],
  ];

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch];
    });
  }

  function element(markup) {
    var holder = document.createElement("div");
    holder.innerHTML = markup.trim();
    return holder.firstElementChild;
  }

  function landing(inner) {
    return element(
      '<div class="landing-wrapper">' +
      '<div class="landing-header">' + LOGO + '<span class="landing-brand">WhatsApp</span></div>' +
      '<div class="landing-window">' + inner + '</div>' +
      '<div class="landing-footer">' + LOCK + '</div></div>');
  }

  function qrLanding() {
    return landing(
      '<div class="landing-main"><div class="landing-title">Steps to log in</div><ol>' +
      '<li>Open WhatsApp on your phone</li>' +
      '<li>On Android tap Menu, on iPhone tap Settings</li>' +
      '<li>Tap Linked devices, then Link device</li>' +
      '<li>Point your phone at this screen to confirm</li></ol>' +
      '<div class="landing-link"><span role="button" tabindex="0" data-action="phone-login">' +
      'Log in with phone number</span></div></div>' +
      '<div class="landing-qr"><div class="qr-spinner" aria-label="Loading QR code"></div></div>');
  }

  function qrBox(payload) {
    var box = element('<div class="qr-box"><canvas aria-label="Scan this QR code to link a device!" ' +
      'role="img" width="228" height="228"></canvas></div>');
    box.setAttribute("data-ref", payload);
    return box;
  }

  function drawQr(canvas, matrix) {
    var ctx = canvas.getContext("2d");
    var quiet = 4;
    var cells = matrix.length + 2 * quiet;
    var scale = canvas.width / cells;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#122e31";
    for (var y = 0; y < matrix.length; y++) {
      for (var x = 0; x < matrix[y].length; x++) {
        if (matrix[y][x] !== "1") continue;
        var left = Math.round((x + quiet) * scale), top = Math.round((y + quiet) * scale);
        ctx.fillRect(left, top, Math.round((x + quiet + 1) * scale) - left,
          Math.round((y + quiet + 1) * scale) - top);
      }
    }
  }

  function reloadButton(text) {
    return element('<button type="button" class="reload-button"><div class="reload-icon">' +
      '<span data-icon="refresh-large"></span></div><div class="reload-text">' + escapeHtml(text) +
      '</div></button>');
  }

  function phoneInput() {
    return landing(
      '<div class="landing-main"><div class="landing-title">Enter phone number</div>' +
      '<div class="landing-text">Select a country and enter your WhatsApp phone number.</div>' +
      '<div class="phone-row"><input type="text" inputmode="tel" autocomplete="off" ' +
      'aria-label="Type your phone number." placeholder="+55 11 99999 0000"></div>' +
      '<div class="phone-error" role="alert"></div>' +
      '<button type="button" class="next-button">Next</button>' +
      '<div class="landing-link"><span role="button" tabindex="0" data-action="qr-login">' +
      'Log in with QR code</span></div></div>');
  }

  function pairingScreen(phone) {
    return landing(
      '<div class="landing-main"><div class="landing-title">Enter code on phone</div>' +
      '<div class="landing-text">Linking WhatsApp account +' + escapeHtml(phone || "") + '</div>' +
      '<div class="link-code-box"></div><ol>' +
      '<li>Open WhatsApp on your phone</li>' +
      '<li>Tap Linked devices, then Link device</li>' +
      '<li>Tap Link with phone number instead and enter this code on your phone</li></ol>' +
      '<div class="landing-link"><span role="button" tabindex="0" data-action="qr-login">' +
      'Log in with QR code</span></div></div>');
  }

  function linkCode(code) {
    var box = element('<div class="link-code" aria-details="link-code"></div>');
    setLinkCode(box, code);
    return box;
  }

  function setLinkCode(box, code) {
    var chars = code.split("");
    box.setAttribute("data-link-code", chars.join(","));
    box.innerHTML = chars.map(function (ch) { return "<span>" + escapeHtml(ch) + "</span>"; }).join("");
  }

  function loading() {
    return element('<div class="loading-screen"><div class="loading-logo">' + LOGO + '</div>' +
      '<progress value="0" max="100" dir="ltr"></progress>' +
      '<div class="loading-title">Loading your chats</div>' +
      '<div class="loading-e2e">' + LOCK + '</div></div>');
  }

  function chats() {
    var rows = CHATS.map(function (chat) {
      return '<div role="row" tabindex="-1" class="chat-row"><div class="chat-avatar"></div>' +
        '<div class="chat-body"><div class="chat-top"><span dir="auto" title="' + escapeHtml(chat[0]) + '">' +
        escapeHtml(chat[0]) + '</span><span class="chat-time">' + escapeHtml(chat[1]) + '</span></div>' +
        '<div class="chat-last"><span dir="ltr">' + escapeHtml(chat[2]) + '</span></div></div></div>';
    }).join("");
    return element('<div class="two" tabindex="-1"><div id="side">' +
      '<header class="side-header"><div class="side-avatar"></div><div class="side-actions">' +
      '<div role="button" tabindex="0" aria-label="Menu" title="Menu"><span data-icon="menu"></span></div>' +
      '</div></header>' +
      '<div class="side-search"><input type="text" aria-label="Search input textbox" ' +
      'placeholder="Search or start new chat"></div>' +
      '<div id="pane-side" aria-label="Chat list" role="grid">' + rows + '</div></div>' +
      '<div class="main-empty"><div class="main-empty-title">WhatsApp Web</div>' +
      '<div>Send and receive messages without keeping your phone online.</div>' +
      '<div class="main-empty-e2e">' + LOCK + '</div></div></div>');
  }

  function menu() {
    var items = ["New group", "Starred messages", "Select chats", "Settings", "Log out"];
    return element('<div class="menu-dropdown" role="application"><ul>' + items.map(function (item) {
      return '<li role="button" tabindex="0" data-item="' + escapeHtml(item) + '"><div>' +
        escapeHtml(item) + '</div></li>';
    }).join("") + '</ul></div>');
  }

  function dialog(title, body, buttons) {
    return element('<div class="overlay" data-animate-modal-backdrop="true">' +
      '<div data-animate-modal-popup="true" role="dialog" aria-modal="true" class="popup">' +
      (title ? '<div class="popup-title">' + escapeHtml(title) + '</div>' : "") +
      '<div class="popup-body">' + escapeHtml(body) + '</div><div class="popup-buttons">' +
      buttons.map(function (text) {
        return '<button type="button" data-button="' + escapeHtml(text) + '">' + escapeHtml(text) + '</button>';
      }).join("") + '</div></div></div>');
  }

  window.WAViews = {
    qrLanding: qrLanding, qrBox: qrBox, drawQr: drawQr, reloadButton: reloadButton,
    phoneInput: phoneInput, pairingScreen: pairingScreen, linkCode: linkCode, setLinkCode: setLinkCode,
    loading: loading, chats: chats, menu: menu, dialog: dialog,
    CONFLICT_TEXT: 'WhatsApp is open on another computer or browser. Click "Use here" to use ' +
      "WhatsApp in this window.",
  };
})();
