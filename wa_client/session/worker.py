"""The session worker: the one owner of a browser's driver. Observe -> decide -> act, then commands.

Data runs one way: the probe reads the page into an Observation, `recognise` and `decide` turn
it into a Decision, the worker hands the decision to its port (ports.WorkerPort: the SessionRunner,
which records state, QR and events) and runs its effects; the CRM's commands wait in its
CommandQueue (command_queue.py) and are answered through futures once an observation confirms them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from wa_client.browser.driver import PROBE_TIMEOUT_S, Browser, is_fatal
from wa_client.chat.hub import ChatHub
from wa_client.chat.worker import ChatWorker
from wa_client.config import Settings
from wa_client.jobs import Command
from wa_client.page.actions import PageActions
from wa_client.page.probe import PROBE_SCRIPT, Observation, probe_args
from wa_client.page.recognise import Page, Sight, recognise
from wa_client.page.watch import Listener, WakeBudget, heard_logout
from wa_client.session.command_queue import CommandQueue, first_line
from wa_client.session.decide import Decision, Effect, Facts, decide
from wa_client.session.ports import WorkerPort
from wa_client.states import RUNNING, Reason, State

logger = logging.getLogger(__name__)

STARTING_POLL_S = 0.05
PUSHED_WAIT_S = 1.0  # pushed, a wake or a command ends the wait at once; this only paces the crash check
LISTENING_STATES = frozenset({State.QR, State.CONNECTED})  # steady: the page says when it changes
MAX_PROBE_FAILURES_S = 6.0  # after the first 2-s probe timeout: a frozen browser is noticed within ~10 s
DISAGREEMENT_POLLS = 3  # a disagreement is logged once it has lasted this many polls
ONE_CHANNEL_REPORT_S = 5.0  # one channel alone past the startup screen for this long is logged once

CRASH_ERROR = "The browser stopped unexpectedly ({what} died). Click Generate QR to start again."
UNRESPONSIVE_ERROR = "The browser stopped answering. Click Generate QR to start again."


class SessionWorker:
    """Reads the page of one browser, for one session generation, until that session ends."""

    def __init__(self, port: WorkerPort, browser: Browser, generation: int, settings: Settings, signs: Any,
                 hub: ChatHub, spawn: Callable[..., Any], sleep: Callable[[float], None]) -> None:
        self.port = port  # where the decisions go (the SessionRunner); never the client
        self.browser = browser
        self.generation = generation
        self.settings = settings
        self.hub = hub
        self.spawn = spawn
        self.sleep = sleep
        self.args = probe_args(signs)
        self.actions = PageActions(browser.driver, signs, sleep)
        self.chat = ChatWorker(hub, self.actions, settings.wa_url, sleep)
        self.commands = CommandQueue(port, self.actions, self.chat)
        self.listener = Listener(browser, self.args, sleep)
        self.wake_budget = WakeBudget(self.settings.poll_interval_s)
        self.ended: Decision | None = None
        self.last_obs: Observation | None = None  # the last probe's, for a wake that names a logout
        self.heard_logout = False
        self.listener_started = False
        self.last_reload = self.last_takeover = -math.inf
        self.unknown_since: float | None = None
        self.opening_since: float | None = None
        self.unknown_reported = False
        self.failing_since: float | None = None
        self._disagreement: tuple[tuple[Page, Page] | None, int] = (None, 0)
        self._alone_since: float | None = None
        self._logged: set[object] = set()

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> None:
        """Look until the session is over or a reset takes it away; then answer every command left."""
        try:
            while self.port.is_current(self.generation) and self.step():
                self._open_push_channel()
                self._until_next_look()
        finally:
            self._close()

    def _open_push_channel(self) -> None:
        """Once past starting (the first QR is out): the push channel opens beside the probes. Its round trips
        held up the first probes by a few hundred ms when it opened at once."""
        if self.listener_started or self.port.state is State.STARTING:
            return
        self.listener_started = True
        self.spawn(self.listener.start, self.listener.context())

    def _until_next_look(self) -> None:
        """Listen to the page in a steady state (or poll as before) until the next probe is due."""
        interval, state = self.settings.poll_interval_s, self.port.state
        starting = state is State.STARTING  # the first QR is what the front desk waits for: look at its first sign
        if self.settings.listen and starting and not self.commands.busy:
            self.listener.wait(min(interval, STARTING_POLL_S))
            return
        if not (self.settings.listen and state in LISTENING_STATES) or self.commands.busy or self.chat.busy:
            self.sleep(min(interval, STARTING_POLL_S) if starting else interval)
            return
        due = time.monotonic() + self.settings.probe_interval_s  # the slow probe: the safety net
        while self.port.is_current(self.generation) and not self.browser.crashed() and (
                left := due - time.monotonic()) > 0:
            woken = self.listener.wait(min(left, PUSHED_WAIT_S if self.listener.pushed else interval))
            if woken:
                self.port.count("page_wakes")
                self.heard_logout = heard_logout(woken, self.args)  # the page's own logout event: no probe
                delay = 0.0 if "command" in woken or self.heard_logout else self.wake_budget.delay()
                if delay:
                    self.sleep(delay)
                return

    def step(self) -> bool:
        """One poll: check the processes, observe, decide, act; False when the session has ended."""
        if self.browser.closed:  # quit on purpose (e.g. at interpreter exit): no crash to report
            return False
        crashed = self.browser.crashed()
        if crashed:
            return self._end_crashed(CRASH_ERROR.format(what=crashed))
        heard, self.heard_logout = self.heard_logout, False
        if heard and self.last_obs is not None:  # a probe now would wait for the page to leave (chromedriver)
            raw, obs = None, replace(self.last_obs, logout_seen=True)
        else:
            try:
                self.browser.set_command_timeout(PROBE_TIMEOUT_S)
                raw = self.browser.driver.execute_script(PROBE_SCRIPT, self.args, self.hub.probe_args())
                self.port.count("page_probes")
                obs = self.last_obs = Observation.from_probe(raw)
            except Exception as exc:  # noqa: BLE001 - WebDriver errors while the page navigates
                return self._probe_failed(exc)
            finally:
                self.browser.set_command_timeout(None)
        self.failing_since = None
        sight = recognise(obs)
        self._note(sight)
        state = self.port.state
        if state not in RUNNING:
            return False
        decision = decide(state, sight, self._facts(sight))
        if decision.end:
            self._run_effects(decision.effects, sight)  # (a screenshot of the page, while there is one)
            return self._end(decision)
        if not self.port.apply(self.generation, decision, sight):
            return False
        self._run_effects(decision.effects, sight)
        self.commands.confirm(sight)
        self.chat.take(raw.get("chat") if isinstance(raw, dict) else None)
        self.commands.run()
        return True

    # -- commands -----------------------------------------------------------------------------
    def submit(self, command: Command) -> Command:
        """Queue a command for the next poll; StateError when the session has already ended."""
        self.commands.submit(command)
        self.listener.nudge()  # not behind a wait: the worker looks at its commands at once
        return command

    def _close(self) -> None:
        """The session is over: every queued or pending command is answered now; the page is not listened to."""
        self.commands.close(self.ended)
        self.listener.close()

    # -- what the decision asks of the browser --------------------------------------------------
    def _run_effects(self, effects: tuple[Effect, ...], sight: Sight) -> None:
        for effect in effects:
            try:
                self._run_effect(effect, sight)
            except Exception as exc:  # noqa: BLE001 - the next poll looks again
                logger.warning("could not %s: %s", effect.value.replace("_", " "), first_line(exc))

    def _run_effect(self, effect: Effect, sight: Sight) -> None:
        now = time.monotonic()
        if effect is Effect.RELOAD_QR:
            self.last_reload = now
            code = sight.obs.dom.code_expired and not sight.obs.dom.qr_expired
            via = self.actions.reload_code() if code else self.actions.reload_qr()
            if via:
                self.port.new_qr_cycle(self.generation)
            logger.info("%s expired; asked for fresh ones (%s)", "pairing codes" if code else "QR",
                        f"through the {via}" if via else "nothing to click")
        elif effect is Effect.TAKE_OVER:
            self.last_takeover = now
            via = self.actions.take_over()
            logger.info("WhatsApp was open elsewhere; took the session over (%s)", via or "nothing to click")
        elif effect is Effect.TICK_STAY_LOGGED_IN:
            ticked = self.actions.tick_stay_logged_in()
            logger.info("'Stay logged in on this browser' was unticked; %s", "ticked it" if ticked else "could not")
        elif effect is Effect.REPORT_UNRECOGNISED:
            self.unknown_reported = True
            logger.warning("WhatsApp Web shows a page the gateway does not recognise: %s", sight.obs.summary())
            self.port.keep_screenshot(self.actions.screenshot())
        elif effect is Effect.KEEP_SCREENSHOT:
            self.port.keep_screenshot(self.actions.screenshot())
        elif effect is Effect.REPORT_OTHER_TAB:
            self._log_once("other_tab", logging.ERROR, "bug: WhatsApp says another WhatsApp Web tab is open in "
                           "the gateway's own browser")

    # -- bookkeeping --------------------------------------------------------------------------
    def _facts(self, sight: Sight) -> Facts:
        now = time.monotonic()
        unknown = sight.unrecognised
        self.unknown_since = (self.unknown_since or now) if unknown else None
        opening = sight.obs.modules is not None and sight.obs.modules.state.upper() == "OPENING"
        self.opening_since = (self.opening_since or now) if opening else None
        settings = self.settings
        return Facts(
            elapsed_s=now - self.port.started_at(),
            qr_timeout_s=settings.qr_timeout_s,
            start_timeout_s=settings.start_timeout_s,
            wa_url=settings.wa_url,
            proxy_url=settings.proxy_url,
            unattended=self.port.unattended,
            takeover_on_conflict=settings.takeover_on_conflict,
            logout_requested=self.commands.logout_requested,
            since_reload_s=now - self.last_reload,
            since_takeover_s=now - self.last_takeover,
            unknown_for_s=now - self.unknown_since if self.unknown_since else 0.0,
            opening_for_s=now - self.opening_since if self.opening_since else 0.0,
            unknown_reported=self.unknown_reported,
        )

    def _note(self, sight: Sight) -> None:
        """Log once when a channel is missing or the two disagree for a while (never a payload)."""
        if sight.page is Page.UNKNOWN:
            return
        missing = "modules" if sight.modules is None else ("dom" if sight.dom is Page.UNKNOWN else None)
        now = time.monotonic()
        self._alone_since = None if missing is None or sight.page is Page.STARTUP else (self._alone_since or now)
        if self._alone_since is not None and now - self._alone_since >= ONE_CHANNEL_REPORT_S:
            if missing == "modules":  # (the startup screen does not count: WhatsApp's modules arrive later)
                self._log_once("no_modules", logging.WARNING, "WhatsApp's modules are not available "
                               "(window.require): reading the page through the DOM only")
            else:
                self._log_once("no_dom", logging.WARNING, "the page's DOM signs were not recognised (%s): "
                               "reading WhatsApp's modules only", sight.page)
        pair, polls = self._disagreement
        seen = sight.disagreement
        polls = polls + 1 if seen is not None and seen == pair else (1 if seen else 0)
        self._disagreement = (seen, polls)
        if seen is not None and polls == DISAGREEMENT_POLLS:
            self._log_once(seen, logging.WARNING, "the DOM shows %s but WhatsApp's modules say %s; going by %s",
                           seen[0], seen[1], sight.page)
            self.port.count("channel_disagreements")

    def _log_once(self, key: object, level: int, message: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            logger.log(level, message, *args)

    # -- endings ------------------------------------------------------------------------------
    def _end(self, decision: Decision) -> bool:
        self.ended = decision
        self.port.end(self.generation, decision, then=self._close)  # commands answered before the teardown
        return False

    def _end_crashed(self, error: str) -> bool:
        self.port.count("crashes")
        return self._end(Decision(State.FAILED, Reason.BROWSER_CRASHED, error, end=True))

    def _probe_failed(self, exc: Exception) -> bool:
        if not self.port.is_current(self.generation) or self.browser.closed:
            return False
        crashed = self.browser.crashed()
        if crashed:
            return self._end_crashed(CRASH_ERROR.format(what=crashed))
        if is_fatal(exc):
            return self._end_crashed(CRASH_ERROR.format(what="the browser session"))
        now = time.monotonic()
        self.failing_since = self.failing_since or now
        logger.debug("page probe failed: %s", first_line(exc))
        if now - self.failing_since > MAX_PROBE_FAILURES_S:
            return self._end_crashed(UNRESPONSIVE_ERROR)
        return True

