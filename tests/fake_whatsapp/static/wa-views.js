/* The screens of the simulated WhatsApp Web, as the real page's DOM shows them to a scraper.
   Every DOM sign a scraper may look for comes from one table, NAMES; with the knob dom_drift the
   page uses DRIFT instead, where every one of those signs has another name or text. */
(function () {
  "use strict";

  var NAMES = {
    startupId: "wa_web_initial_startup",
    refAttr: "data-ref",
    canvasLabel: "Scan this QR code to link a device!",
    linkCodeAttr: "data-link-code",
    paneId: "pane-side",
    chatListLabel: "Chat list",
    listRole: "grid",
    rowRole: "row",
    dialogRole: "dialog",
    popupAttr: "data-animate-modal-popup",
    refreshIcon: "refresh-large",
    progressTag: true,  // a <progress>; false: a div role=progressbar
    text: {
      e2e: "End-to-end encrypted",
      qrTitle: "Scan to log in",
      pairingTitle: "Enter code on phone",
      phoneLogin: "Log in with phone number",
      qrLogin: "Log in with QR code",
      reloadQr: "Click to reload QR code",
      codeExpired: "Code expired",
      reloadCode: "Click to generate new code",
      loadingChats: "Loading your chats",
      stageConnecting: "Connecting…",
      stageDownloading: "Downloading messages: ",
      stageOrganizing: "Organizing messages",
      stageNote: "Don't close this window. Your messages are downloading.",
      loadingLogOut: "Log out",
      noInternet: "No internet connection",
      connectingTitle: "Connecting to WhatsApp",
      connectingBody: "Make sure your computer has an active internet connection.",
      connectingLogOut: "Log out",
      offlineBanner: "Computer not connected. Make sure your computer has an active internet connection.",
      conflictComputer: 'WhatsApp is open on another computer or browser. Click "Use here" to use WhatsApp ' +
        "in this window.",
      conflictWindow: 'WhatsApp is open in another window. Click "Use here" to use WhatsApp in this window.',
      useHere: "Use here",
      conflictLogOut: "Log out",
      conflictClose: "Close",
      otherTab: "There is already another active WhatsApp Web tab in this browser",
      otherTabBody: "Close the other tab, or click Refresh to use WhatsApp here.",
      refresh: "Refresh",
      tos_block: ["Your account is banned", "This account is not allowed to use WhatsApp due to spam."],
      smb_tos_block: ["Your account is temporarily banned",
        "This business account is temporarily banned from WhatsApp. Try again later."],
      proxyblock: ["Your network blocks WhatsApp",
        "The network you are connected to does not allow WhatsApp. Try another network."],
      deprecated_version: ["WhatsApp Web needs to be updated",
        "This version is no longer supported. Reload the page to update WhatsApp Web."],
      service_unavailable: ["Service unavailable", "WhatsApp Web is temporarily unavailable. Try again later."],
      // late 2026: the passkey check after linking (knob passkey_check)
      passkeyTitle: "Quick security check with Passkey",
      passkeyBody: "Use your passkey to confirm it's you. This keeps your account secure when you link a device.",
      passkeyContinue: "Continue",
    },
  };

  var DRIFT = {
    startupId: "wa_web_startup_v2",
    refAttr: "data-qr-payload",
    canvasLabel: null,
    linkCodeAttr: "data-pairing-code",
    paneId: "chat-pane",
    chatListLabel: "Conversations",
    listRole: "list",
    rowRole: "listitem",
    dialogRole: "alertdialog",
    popupAttr: "data-modal-surface",
    refreshIcon: "refresh-xl",
    progressTag: false,
    text: {
      e2e: "Your personal messages stay private",
      qrTitle: "Link a device",
      pairingTitle: "Type this code on your phone",
      phoneLogin: "Use your phone number instead",
      qrLogin: "Use a QR code instead",
      reloadQr: "Get a fresh code",
      codeExpired: "This code has run out",
      reloadCode: "Get another code",
      loadingChats: "Preparing your conversations",
      stageConnecting: "Reaching the servers",
      stageDownloading: "Fetching history ",
      stageOrganizing: "Sorting history",
      stageNote: "Keep this tab open while your history arrives.",
      loadingLogOut: "Sign out",
      noInternet: "You're offline",
      connectingTitle: "Reaching the servers",
      connectingBody: "Check that this computer is online.",
      connectingLogOut: "Sign out",
      offlineBanner: "You're offline. Check that this computer is online.",
      conflictComputer: "Your account is active in another browser. Continue here to move it to this window.",
      conflictWindow: "Your account is active in another tab. Continue here to move it to this window.",
      useHere: "Continue here",
      conflictLogOut: "Sign out",
      conflictClose: "Dismiss",
      otherTab: "This browser already shows the app in another tab",
      otherTabBody: "Close that tab, or reload this one.",
      refresh: "Reload",
      tos_block: ["Access to this number has been withdrawn", "This number can no longer be used here."],
      smb_tos_block: ["Access to this business number is paused", "Try again in a while."],
      proxyblock: ["Our servers can't be reached from here", "Something between this computer and our servers " +
        "refuses the connection. Try another connection."],
      deprecated_version: ["This build is too old", "Reopen the page later to get a newer one."],
      service_unavailable: ["We're having trouble right now", "Come back in a few minutes."],
      passkeyTitle: "Verify it's really you",
      passkeyBody: "Confirm with the key saved on this device to finish linking.",
      passkeyContinue: "Proceed",
    },
  };

  var UNKNOWN = ["Something new happened.", "Try again later."];
  var LOCK = '<span data-icon="lock-small"></span> ';
  var LOGO = '<span data-icon="intro-md-beta-logo-light"></span>';
  var CHATS = [
    ["Reception", "09:12", "Mrs. Costa confirmed her 10:30 appointment"],
    ["Dr. Almeida", "08:47", "Please move my 14:00 to Friday"],
    ["Lab results", "Yesterday", "Blood panel for J. Pereira is ready"],
    ["Pharmacy", "Monday", "Order #5531 delivered"],
  ];
  var LOGOUT_REASONS = {
    0: "A database error occurred on your browser. Please relink your device.",
    1: "Your device was logged out because of a sync issue. Please relink your device.",
    2: "Couldn't link device. Keep WhatsApp open on your phone and try again.",
    3: "You have been logged out. To log back in, you will need to verify your phone number.",
  };

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

  function views(drift) {
    var N = drift ? DRIFT : NAMES, T = N.text;

    function progressBar() {
      return N.progressTag ? '<progress value="0" max="100" dir="ltr"></progress>' :
        '<div role="progressbar" class="bar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div></div></div>';
    }

    function setProgress(bar, value) {
      if (!bar) return;
      if (bar.tagName === "PROGRESS") { bar.value = value; return; }
      bar.setAttribute("aria-valuenow", String(Math.round(value)));
      bar.firstElementChild.style.width = value + "%";
    }

    function progressOf(node) { return node.querySelector('progress, [role="progressbar"]'); }

    function landing(inner) {
      return element(
        '<div class="landing-wrapper">' +
        '<div class="landing-header">' + LOGO + '<span class="landing-brand">WhatsApp</span></div>' +
        '<div class="landing-window">' + inner + '</div>' +
        '<div class="landing-footer">' + LOCK + escapeHtml(T.e2e) + '</div></div>');
    }

    function link(action, text) {
      return '<div class="landing-link"><div role="button" tabindex="0" data-action="' + action + '">' +
        escapeHtml(text) + '</div></div>';
    }

    function qrLanding(stayLoggedIn, reason) {
      var banner = reason === null || reason === undefined ? "" : '<div class="logout-banner" role="status">' +
        escapeHtml(LOGOUT_REASONS[reason] || "You were logged out. Please relink your device.") + '</div>';
      return landing(
        '<div class="landing-main">' + banner + '<div class="landing-title">' + escapeHtml(T.qrTitle) + '</div><ol>' +
        '<li>Open WhatsApp on your phone</li>' +
        '<li>On Android tap Menu, on iPhone tap Settings</li>' +
        '<li>Tap Linked devices, then Link device</li>' +
        '<li>Point your phone at this screen to confirm</li></ol>' +
        '<div class="stay-row"><input type="checkbox" id="auto-logout-toggle"' + (stayLoggedIn ? " checked" : "") +
        '><label for="auto-logout-toggle">Stay logged in on this browser</label></div>' +
        link("phone-login", T.phoneLogin) + '</div>' +
        '<div class="landing-qr"><div class="qr-spinner" aria-label="Loading QR code"></div></div>');
    }

    function qrBox(payload) {
      var label = N.canvasLabel ? ' aria-label="' + escapeHtml(N.canvasLabel) + '"' : "";
      var box = element('<div class="qr-box"><canvas' + label + ' role="img" width="228" height="228"></canvas></div>');
      box.setAttribute(N.refAttr, payload);
      return box;
    }

    function reloadButton(text, title) {
      return element('<button type="button" class="reload-button"><div class="reload-icon">' +
        '<span data-icon="' + N.refreshIcon + '"></span></div>' +
        (title ? '<div class="reload-title">' + escapeHtml(title) + '</div>' : "") +
        '<div class="reload-text">' + escapeHtml(text) + '</div></button>');
    }

    function offlineButton() {
      return element('<button type="button" class="reload-button offline-button"><div class="reload-icon">' +
        '<span data-icon="alert-offline"></span></div><div class="reload-text">' + escapeHtml(T.noInternet) +
        '</div></button>');
    }

    function phoneInput() {
      return landing(
        '<div class="landing-main"><div class="landing-title">Enter phone number</div>' +
        '<div class="landing-text">Select a country and enter your WhatsApp phone number.</div>' +
        '<div class="phone-row"><button type="button" class="country" aria-label="Country">Brazil +55</button>' +
        '<input type="text" inputmode="tel" autocomplete="off" ' +
        'aria-label="Type your phone number." placeholder="+55 11 99999 0000"></div>' +
        '<div class="phone-error" role="alert"></div>' +
        '<button type="button" class="next-button">Next</button>' + link("qr-login", T.qrLogin) + '</div>');
    }

    function pairingScreen(phone) {
      return landing(
        '<div class="landing-main"><div class="landing-title">' + escapeHtml(T.pairingTitle) + '</div>' +
        '<div class="landing-text">Linking WhatsApp account +' + escapeHtml(phone || "") + '</div>' +
        '<div class="link-code-box"></div><ol>' +
        '<li>Open WhatsApp on your phone</li>' +
        '<li>Tap Linked devices, then Link device</li>' +
        '<li>Tap Link with phone number instead and enter this code on your phone</li></ol>' +
        link("qr-login", T.qrLogin) + '</div>');
    }

    function linkCode(code) {
      var box = element('<div class="link-code" aria-details="link-code"></div>');
      setLinkCode(box, code);
      return box;
    }

    function setLinkCode(box, code) {
      var chars = code.split("");
      box.setAttribute(N.linkCodeAttr, chars.join(","));
      box.innerHTML = chars.map(function (ch) { return "<span>" + escapeHtml(ch) + "</span>"; }).join("");
    }

    function loading(theme) {
      var stages = theme === "stages";
      return element('<div class="loading-screen"><div class="loading-logo">' + LOGO + '</div>' +
        progressBar() + '<div class="loading-title">' +
        escapeHtml(stages ? T.stageConnecting : T.loadingChats) + '</div>' +
        (stages ? '<div class="loading-note">' + escapeHtml(T.stageNote) + '</div>' +
          '<button type="button" class="loading-logout">' + escapeHtml(T.loadingLogOut) + '</button>' : "") +
        '<div class="loading-e2e">' + LOCK + escapeHtml(T.e2e) + '</div></div>');
    }

    /* The loading screen's words at `fraction` (0..1) of its time. */
    function loadingText(theme, fraction) {
      var percent = Math.min(100, Math.max(0, Math.round(fraction * 100)));
      if (theme !== "stages") return fraction < 0.3 ? T.loadingChats : T.loadingChats + " [" + percent + "%]";
      if (fraction < 0.25) return T.stageConnecting;
      if (fraction < 0.75) return T.stageDownloading + Math.round((fraction - 0.25) * 200) + "%";
      return T.stageOrganizing;
    }

    function chats() {
      var rows = CHATS.map(function (chat) {
        return '<div role="' + N.rowRole + '" tabindex="-1" class="chat-row"><div class="chat-avatar"></div>' +
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
        '<div id="' + N.paneId + '" aria-label="' + escapeHtml(N.chatListLabel) + '" role="' + N.listRole + '">' +
        rows + '</div></div>' +
        '<div class="main-empty"><div class="main-empty-title">WhatsApp Web</div>' +
        '<div>Send and receive messages without keeping your phone online.</div>' +
        '<div class="main-empty-e2e">' + LOCK + escapeHtml(T.e2e) + '</div></div>' +
        // The real page keeps an empty dialog node around almost always.
        '<div role="' + N.dialogRole + '" class="toast-layer"></div></div>');
    }

    function offlineBanner() {
      return element('<div class="offline-banner" role="status"><span data-icon="alert-computer"></span> ' +
        escapeHtml(T.offlineBanner) + '</div>');
    }

    function menu() {
      var items = ["New group", "Starred messages", "Select chats", "Settings", "Log out"];
      return element('<div class="menu-dropdown" role="application"><ul role="menu">' + items.map(function (item) {
        return '<li role="menuitem" tabindex="0" data-item="' + escapeHtml(item) + '"><div>' +
          escapeHtml(item) + '</div></li>';
      }).join("") + '</ul></div>');
    }

    /* A modal: the backdrop covers the whole page; buttons are [text, key] pairs (or texts). */
    function dialog(title, body, buttons, closeButton) {
      return element('<div class="overlay" data-animate-modal-backdrop="true">' +
        '<div role="' + N.dialogRole + '" aria-modal="true" class="dialog">' +
        '<div ' + N.popupAttr + '="true" class="popup">' +
        (closeButton ? '<button type="button" class="popup-close" aria-label="Close" data-button="close">' +
          '<span data-icon="x"></span></button>' : "") +
        (title ? '<div class="popup-title">' + escapeHtml(title) + '</div>' : "") +
        '<div class="popup-body">' + escapeHtml(body) + '</div><div class="popup-buttons">' +
        buttons.map(function (button) {
          var text = typeof button === "string" ? button : button[0];
          var key = typeof button === "string" ? button : button[1];
          return '<button type="button" data-button="' + escapeHtml(key) + '">' + escapeHtml(text) + '</button>';
        }).join("") + '</div></div></div></div>');
    }

    function conflictDialog(variant) {
      var body = variant === "window" ? T.conflictWindow : T.conflictComputer;
      var other = variant === "window" ? [T.conflictClose, "close"] : [T.conflictLogOut, "log-out"];
      return dialog(null, body, [other, [T.useHere, "use-here"]]);
    }

    function connectingDialog() {
      return dialog(T.connectingTitle, T.connectingBody, [[T.connectingLogOut, "log-out"]]);
    }

    function whatsNew() {
      return dialog("What's new", "Chats now load faster, and you can pin up to five chats.", [["OK", "ok"]], true);
    }

    /* The passkey check after linking (late 2026): its "Continue" would call navigator.credentials.get. */
    function passkeyScreen() {
      return landing('<div class="landing-main passkey-check"><div class="landing-title">' +
        escapeHtml(T.passkeyTitle) + '</div><div class="landing-text">' + escapeHtml(T.passkeyBody) + '</div>' +
        '<button type="button" class="next-button passkey-continue">' + escapeHtml(T.passkeyContinue) +
        '</button></div>');
    }

    /* A full page that replaces the app: a block (tos_block, ...), "unknown" or "other_tab". */
    function fullPage(screen) {
      var words = screen === "unknown" || screen === "unknown_opening" ? UNKNOWN :
        screen === "other_tab" ? [T.otherTab, T.otherTabBody] : T[screen];
      return element('<div class="full-page" data-screen-kind="page"><div class="full-box">' + LOGO +
        '<div class="full-title">' + escapeHtml(words[0]) + '</div>' +
        '<div class="full-body">' + escapeHtml(words[1]) + '</div>' +
        (screen === "other_tab" ? '<button type="button" class="full-button">' + escapeHtml(T.refresh) +
          '</button>' : "") + '</div></div>');
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

    return {
      N: N, T: T, qrLanding: qrLanding, qrBox: qrBox, drawQr: drawQr, reloadButton: reloadButton,
      offlineButton: offlineButton, phoneInput: phoneInput, pairingScreen: pairingScreen, linkCode: linkCode,
      setLinkCode: setLinkCode, loading: loading, loadingText: loadingText, chats: chats,
      offlineBanner: offlineBanner, menu: menu, dialog: dialog, conflictDialog: conflictDialog,
      connectingDialog: connectingDialog, whatsNew: whatsNew, fullPage: fullPage, passkeyScreen: passkeyScreen,
      setProgress: setProgress, progressOf: progressOf,
    };
  }

  window.WAViews = {create: views, NAMES: NAMES, DRIFT: DRIFT, escapeHtml: escapeHtml, element: element};
})();
