"""decide(): what the session does about what the page shows — a pure function over a table.

The Page x State reaction is data (`TABLE`), built once from the rules below and read by the
tests; `decide` adds only what needs the clock (timeouts, throttled clicks). Same input, same
output: no browser, no locks, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from wa_client.page.recognise import Page, Sight, format_pairing_code
from wa_client.proxy import is_proxy_error
from wa_client.states import RUNNING, Reason, State

S = State

RELOAD_CLICK_INTERVAL_S = 1.0
TAKEOVER_CLICK_INTERVAL_S = 2.0
UNRECOGNISED_REPORT_S = 5.0  # an unknown page for this long is logged once, with a screenshot kept
OPENING_OFFLINE_S = 15.0  # Socket.state OPENING for this long: no connection to WhatsApp

#: States in which the phone has linked this browser: a QR or landing page there means a logout.
LINKED = frozenset({S.AUTHENTICATING, S.CONNECTED, S.CONFLICT})


class Effect(StrEnum):
    """What the session worker does with the browser after a decision."""

    RELOAD_QR = "reload_qr"  # Cmd.refreshQR(), or click "Click to reload QR code" inside the QR holder
    TAKE_OVER = "take_over"  # Socket.takeover(), or click "Use here" (never "Log out" or "Close")
    TICK_STAY_LOGGED_IN = "tick_stay_logged_in"  # make sure #auto-logout-toggle is ticked
    REPORT_UNRECOGNISED = "report_unrecognised"  # log what the probe saw, once; keep a screenshot
    REPORT_OTHER_TAB = "report_other_tab"  # two WhatsApp tabs in our own browser: a bug to log
    KEEP_SCREENSHOT = "keep_screenshot"  # keep a picture of the page for /screenshot.png (run before an ending)


@dataclass(frozen=True)
class Reaction:
    """One cell of the Page x State table."""

    state: State | None  # where to go; None: stay
    end: bool = False  # the session ends: the browser quits
    reason: Reason | None = None  # BLOCKED stands for "the block the page names"
    delete_profile: bool = False
    effects: tuple[Effect, ...] = ()
    when_linked: State | None = None  # instead of `state` when the profile holds a saved login


STAY = Reaction(None)
LOGGED_OUT = Reaction(S.DISCONNECTED, end=True, reason=Reason.LOGOUT, delete_profile=True)


def _reaction(page: Page, state: State) -> Reaction:
    """The rule for `page` seen in `state` (docs/whatsapp-web.md, "Page states")."""
    linked = state in LINKED
    rules = {
        Page.LOGGED_OUT: LOGGED_OUT,
        Page.BROWSER_ERROR: Reaction(S.FAILED, end=True, reason=Reason.UNREACHABLE),
        Page.BLOCKED: Reaction(S.FAILED, end=True, reason=Reason.BLOCKED),
        Page.UNSUPPORTED: Reaction(S.FAILED, end=True, reason=Reason.UNSUPPORTED_BROWSER),
        Page.CONFLICT: Reaction(S.CONFLICT, effects=(Effect.TAKE_OVER,)),
        Page.OTHER_TAB: Reaction(S.CONFLICT, effects=(Effect.REPORT_OTHER_TAB,)),
        Page.CHATS: Reaction(S.CONNECTED),
        # never press its "Continue": it calls navigator.credentials.get, which no server's browser can answer
        Page.PASSKEY: Reaction(S.FAILED, end=True, reason=Reason.PASSKEY_REQUIRED, effects=(Effect.KEEP_SCREENSHOT,)),
        Page.LOADING: Reaction(S.AUTHENTICATING),
        Page.OFFLINE: Reaction(None, reason=Reason.OFFLINE),
        Page.PAIRING_CODE: LOGGED_OUT if linked else Reaction(S.QR),
        Page.QR_EXPIRED: LOGGED_OUT if linked else Reaction(S.QR, effects=(Effect.RELOAD_QR,)),
        Page.QR: LOGGED_OUT if linked else Reaction(S.QR, effects=(Effect.TICK_STAY_LOGGED_IN,)),
        Page.STARTUP: Reaction(None, when_linked=S.AUTHENTICATING) if state is S.STARTING else STAY,
        # "qr" means a code is ready to scan: the landing without one keeps the state it is in
        Page.LANDING: LOGGED_OUT if linked else Reaction(None, effects=(Effect.TICK_STAY_LOGGED_IN,)),
        Page.UNKNOWN: Reaction(None, effects=(Effect.REPORT_UNRECOGNISED,)),
    }
    return rules[page]


#: The whole Page x State reaction, for every state in which a browser runs.
TABLE: dict[tuple[Page, State], Reaction] = {
    (page, state): _reaction(page, state) for page in Page for state in RUNNING
}


@dataclass(frozen=True)
class Facts:
    """What decide needs beyond the state and the page: the settings and the session's clocks."""

    elapsed_s: float = 0.0  # since Generate QR
    qr_timeout_s: float = 300.0
    start_timeout_s: float = 60.0
    wa_url: str = "https://web.whatsapp.com/"
    proxy_url: str | None = None  # WA_PROXY_URL
    unattended: bool = False  # started by WA_AUTOSTART or a crash restart: only Generate QR may show a QR
    takeover_on_conflict: bool = True
    logout_requested: bool = False  # the CRM asked for this logout (and it was carried out)
    since_reload_s: float = math.inf
    since_takeover_s: float = math.inf
    unknown_for_s: float = 0.0  # how long the page has been unrecognised
    opening_for_s: float = 0.0  # how long Socket.state has been OPENING
    unknown_reported: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do: the next state, why, what to serve, which effects to run, and whether it ends."""

    state: State
    reason: Reason | None = None
    error: str | None = None
    qr_payload: str | None = None
    pairing_code: str | None = None
    effects: tuple[Effect, ...] = ()
    end: bool = False
    delete_profile: bool = False


BLOCK_REASONS = {r.value: r for r in (Reason.TOS_BLOCK, Reason.SMB_TOS_BLOCK, Reason.PROXYBLOCK,
                                      Reason.DEPRECATED_VERSION, Reason.SERVICE_UNAVAILABLE)}

WORDS = {
    Reason.UNREACHABLE: "WhatsApp Web cannot be reached at {url}. Check the internet connection of the computer "
                        "running the gateway, then click Generate QR.",
    Reason.PROXY_UNREACHABLE: "The proxy in WA_PROXY_URL ({proxy}) cannot be reached or refused the connection "
                              "({code}). Check that the proxy runs and lets this computer through, then click "
                              "Generate QR.",
    Reason.UNSUPPORTED_BROWSER: "WhatsApp says this browser is not supported. The gateway must send a normal desktop "
                                "Chrome User-Agent (check WA_USER_AGENT), then click Force Reset and Generate QR.",
    Reason.TOS_BLOCK: "WhatsApp has banned this phone number (terms of service). The gateway cannot fix this: contact "
                      "WhatsApp support from the phone, then click Generate QR.",
    Reason.SMB_TOS_BLOCK: "WhatsApp has temporarily banned this WhatsApp Business number. Wait until the phone's "
                          "WhatsApp says the ban is over, then click Generate QR.",
    Reason.PROXYBLOCK: "The network of the computer running the gateway blocks WhatsApp (a firewall or proxy). Ask "
                       "the clinic's IT to allow web.whatsapp.com, then click Generate QR.",
    Reason.DEPRECATED_VERSION: "WhatsApp says this browser's version of WhatsApp Web is too old. Update Chromium on "
                               "the computer running the gateway (and WA_USER_AGENT if set), then click Generate QR.",
    Reason.SERVICE_UNAVAILABLE: "WhatsApp Web says its service is unavailable right now. Click Generate QR again in "
                                "a few minutes.",
    Reason.BLOCKED: "WhatsApp Web shows a block screen the gateway does not know. /screenshot.png shows it; click "
                    "Generate QR to try again.",
    Reason.OFFLINE: "The computer running the gateway has no connection to WhatsApp right now. The gateway waits "
                    "and recovers by itself when the connection returns; check that computer's network.",
    Reason.PAGE_NOT_RECOGNISED: "WhatsApp Web shows a page the gateway does not know: it was not recognised "
                                "(WhatsApp may have changed it), so the gateway needs an update. /screenshot.png "
                                "shows what its browser saw; click Generate QR to try again.",
    # docs/whatsapp-web.md, "Late 2026": after the link, some accounts get WhatsApp's passkey check
    Reason.PASSKEY_REQUIRED: "The phone linked, but WhatsApp then asked this computer for a passkey check (\"Quick "
                             "security check with Passkey\"). The gateway's browser runs on a server with no "
                             "fingerprint reader or security key, so it cannot answer it (it pressed nothing). "
                             "WhatsApp asks this of some accounts only, and not every day: click Generate QR and "
                             "scan again later; the pairing code meets the same check. If it keeps asking, this "
                             "number cannot be linked to the gateway for now. /screenshot.png shows the screen.",
    Reason.NOT_LINKED: "The saved WhatsApp login is no longer valid (the phone unlinked this computer, or it was "
                       "never linked), so the gateway did not show a QR code by itself. Click Generate QR and scan "
                       "the code.",
    Reason.START_TIMEOUT: "WhatsApp Web did not finish loading within {seconds:g} s. Check the internet connection "
                          "of the computer running the gateway, then click Generate QR.",
}
OFFLINE_FAILED = ("The computer running the gateway had no connection to WhatsApp for {seconds:g} s. Check its "
                  "network, then click Generate QR.")


def words(reason: Reason, facts: Facts, code: str | None = None) -> str | None:
    """What /status says for `reason`, in words a receptionist can act on."""
    text = WORDS.get(reason)
    if text is None:
        return None
    return text.format(url=facts.wa_url, seconds=facts.start_timeout_s, proxy=facts.proxy_url, code=code)


def decide(state: State, sight: Sight, facts: Facts) -> Decision:
    """The next state, reason, words and effects for what `sight` shows while the session is in `state`."""
    reaction = TABLE[(sight.page, state)]
    if reaction.end:
        return _ending(reaction, sight, facts)
    target = reaction.when_linked if reaction.when_linked and sight.obs.linked else (reaction.state or state)
    offline = reaction.reason is Reason.OFFLINE or _opening_too_long(sight, facts)
    if target is S.STARTING and facts.elapsed_s > facts.start_timeout_s:
        return _start_timeout(sight, facts, offline)
    if sight.unrecognised and facts.unknown_for_s > facts.start_timeout_s:
        return _not_recognised(facts)
    if target is S.QR and facts.unattended:  # an unattended start that finds no saved login ends quietly
        return _failed(Reason.NOT_LINKED, facts, S.IDLE)
    if target is S.QR and facts.elapsed_s > facts.qr_timeout_s:
        return Decision(S.IDLE, Reason.QR_TIMEOUT, end=True)
    if target is S.QR and state is not S.QR and not _code_in_hand(sight, reaction):
        target = state  # "qr" is announced only with a code that /qr.png serves (e.g. once the box is ticked)
    wanted = reaction.effects + ((Effect.REPORT_UNRECOGNISED,) if sight.unrecognised else ())
    effects = tuple(dict.fromkeys(e for e in wanted if _due(e, sight, facts)))
    payload = sight.qr_payload if Effect.TICK_STAY_LOGGED_IN not in effects else None  # never before it is ticked
    return Decision(
        target,
        Reason.OFFLINE if offline else None,
        words(Reason.OFFLINE, facts) if offline else None,
        qr_payload=payload if target is S.QR else None,
        pairing_code=format_pairing_code(sight.obs.dom.pairing_code) if sight.page is Page.PAIRING_CODE else None,
        effects=effects,
    )


def _code_in_hand(sight: Sight, reaction: Reaction) -> bool:
    """Whether the page offers a code to serve now: a QR payload (its box ticked) or a pairing code."""
    if sight.page is Page.PAIRING_CODE:
        return format_pairing_code(sight.obs.dom.pairing_code) is not None
    return bool(sight.qr_payload) and not (Effect.TICK_STAY_LOGGED_IN in reaction.effects
                                           and sight.obs.dom.stay_logged_in is False)


def _due(effect: Effect, sight: Sight, facts: Facts) -> bool:
    """Whether an effect of the table runs now (some are throttled, some need a sign)."""
    if effect is Effect.RELOAD_QR:
        return facts.since_reload_s >= RELOAD_CLICK_INTERVAL_S
    if effect is Effect.TAKE_OVER:
        return facts.takeover_on_conflict and facts.since_takeover_s >= TAKEOVER_CLICK_INTERVAL_S
    if effect is Effect.TICK_STAY_LOGGED_IN:
        return sight.obs.dom.stay_logged_in is False
    if effect is Effect.REPORT_UNRECOGNISED:
        return facts.unknown_for_s >= UNRECOGNISED_REPORT_S and not facts.unknown_reported
    return True


def _opening_too_long(sight: Sight, facts: Facts) -> bool:
    return sight.page is Page.STARTUP and facts.opening_for_s >= OPENING_OFFLINE_S


def _ending(reaction: Reaction, sight: Sight, facts: Facts) -> Decision:
    reason = reaction.reason
    if reason is Reason.LOGOUT and facts.logout_requested:
        reason = Reason.LOGOUT_REQUESTED
    if reason is Reason.BLOCKED:
        reason = BLOCK_REASONS.get(sight.block, Reason.BLOCKED)
    if reason is Reason.UNREACHABLE and facts.proxy_url and is_proxy_error(sight.obs.error_code):
        reason = Reason.PROXY_UNREACHABLE
    error = None if reason in (Reason.LOGOUT, Reason.LOGOUT_REQUESTED) else words(reason, facts, sight.obs.error_code)
    return Decision(reaction.state, reason, error, effects=reaction.effects, end=True,
                    delete_profile=reaction.delete_profile)


def _start_timeout(sight: Sight, facts: Facts, offline: bool) -> Decision:
    if sight.unrecognised and sight.obs.text_size:  # an empty page did not load; this one is new
        return _not_recognised(facts)
    if offline:
        return Decision(S.FAILED, Reason.OFFLINE, OFFLINE_FAILED.format(seconds=facts.start_timeout_s), end=True)
    return _failed(Reason.START_TIMEOUT, facts)


def _not_recognised(facts: Facts) -> Decision:
    """Failed on a page nobody recognised: reported (log line, screenshot) first, if it was not yet."""
    effects = () if facts.unknown_reported else (Effect.REPORT_UNRECOGNISED,)
    return Decision(S.FAILED, Reason.PAGE_NOT_RECOGNISED, words(Reason.PAGE_NOT_RECOGNISED, facts), effects=effects,
                    end=True)


def _failed(reason: Reason, facts: Facts, state: State = S.FAILED) -> Decision:
    return Decision(state, reason, words(reason, facts), end=True)
