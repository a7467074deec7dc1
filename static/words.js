// The front-desk page's words: a status in plain words a receptionist can act on (read by app.js).
(function () {
  "use strict";

  var STOPPED = ["idle", "disconnected", "failed"];
  var IDLE_WORDS = {
    logout: "Logged out from the phone — click Generate QR",
    qr_timeout: "The QR code expired before it was scanned — click Generate QR for a new one",
    force_reset: "Reset done — click Generate QR to link the clinic phone",
    shutdown: "The gateway was stopped — click Generate QR to reconnect",
    logout_requested: "Logged out of WhatsApp from the gateway — click Generate QR to link again",
  };

  // "+55 11 99999 0000 (Clinic Reception)": the gateway groups the number as the country writes it.
  function whoIs(account) {
    var number = account.display_number || account.number;
    return account.name ? number + " (" + account.name + ")" : number;
  }

  function describe(s) {
    if (s.reason === "offline" && STOPPED.indexOf(s.state) < 0) {
      return ["No connection to WhatsApp", s.error || "The gateway waits and recovers by itself."];
    }
    switch (s.state) {
      case "idle":
        return [IDLE_WORDS[s.reason] || "Not linked — click Generate QR to link the clinic phone", ""];
      case "starting":
        return ["Starting WhatsApp…", "This takes a few seconds."];
      case "qr":
        if (s.pairing_code) return ["Link with phone number", ""];
        return ["Scan this code with WhatsApp on the clinic phone",
          "On the phone: WhatsApp → Settings → Linked devices → Link a device."];
      case "authenticating":
        return ["Linking…", "The phone is linked" + (s.account ? " as " + whoIs(s.account) : "") +
          "; WhatsApp is loading the chats."];
      case "connected":
        return [s.account ? "Connected as " + whoIs(s.account) : "Connected", "WhatsApp is linked. Nothing to do here."];
      case "conflict":
        return ["WhatsApp is open on another computer", document.body.dataset.takeoverAuto === "yes" ? "The gateway is taking the session back…"
          : "Click Use here to use WhatsApp in this gateway again (it closes on the other computer)."];
      case "disconnected":
        return [IDLE_WORDS[s.reason] || "Disconnected — click Generate QR", ""];
      case "failed":
        return ["Something went wrong: " + (s.error || s.reason || "unknown error"),
          "Click Generate QR to try again, or Force Reset if it keeps failing."];
      default:
        return ["Unknown state: " + s.state, ""];
    }
  }

  window.WaWords = { describe: describe, whoIs: whoIs };
})();
