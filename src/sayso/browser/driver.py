"""One WebDriver session that launches lazily, checks its health and relaunches after a crash.

``DriverSession`` is synchronous and is used by exactly one worker thread (see session.py);
only ``kill()`` may be called from elsewhere (the watchdog). It owns every process it starts
and ends them by pid: the driver (chromedriver/geckodriver), the browser, and the browser's
children (for Chromium also found by the unique ``--user-data-dir`` in their command line).
Never by name: other browsers on the machine are not ours.

Failure signatures (measured): browser gone -> ``InvalidSessionIdException``; driver gone ->
``urllib3`` errors (not ``WebDriverException``); tab crash -> "tab crashed"; user closed the
tab -> ``NoSuchWindowException``; hung page -> ``TimeoutException`` after the page-load timeout.
"""

from __future__ import annotations

import atexit
import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import psutil
import urllib3
from selenium import webdriver
from selenium.common.exceptions import (
    InvalidSessionIdException,
    NoSuchWindowException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.remote.client_config import ClientConfig

from sayso.browser.base import BrowserState, TabInfo
from sayso.browser.page import MAX_STATE_ITEMS, PAGE_INFO_JS, STATE_JS, to_page_items
from sayso.browser.policy import UrlPolicy
from sayso.browser.processes import NEW_GROUP, TAG_ENV, OrphanGuard, OwnedProcesses
from sayso.config import Settings
from sayso.errors import BrowserError, UnsafeUrlError

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-component-update", "--disable-sync", "--mute-audio", "--window-size=1280,900",
    "--autoplay-policy=no-user-gesture-required", "--disable-features=Translate,MediaRouter",
    "--password-store=basic", "--lang=en-US",
)
GECKODRIVER_SHA256 = "12994672529413925506cade8dee78d91683015146dac8dab017496f02d7bbb0"  # 0.33.0
COMMAND_TIMEOUT_S = 30.0  # one WebDriver HTTP command; the default is forever
SCRIPT_TIMEOUT_S = 10.0
RESTORE_PAGE_TIMEOUT_S = 5.0
MAX_RESTORED_TABS = 10
DEAD_MARKERS = (
    "tab crashed", "chrome not reachable", "disconnected", "session deleted", "no such session",
    "invalid session id", "browsing context has been discarded", "failed to decode response",
    "without establishing a connection", "target window already closed",
)
WEDGED_MARKERS = ("receiving message from renderer", "receive message from renderer", "cannot determine loading status")

# relaunches across all sessions, for the metrics; listeners get (reason,)
_relaunch_lock = threading.Lock()
_relaunch_total = 0
_relaunch_listeners: list[Callable[[str], None]] = []
_live_sessions: weakref.WeakSet[DriverSession] = weakref.WeakSet()


def relaunch_count() -> int:
    """How many times any browser session was relaunched after a crash in this process."""
    return _relaunch_total


def on_relaunch(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(reason)`` on every relaunch; returns a function that unsubscribes."""
    _relaunch_listeners.append(listener)
    return lambda: _relaunch_listeners.remove(listener) if listener in _relaunch_listeners else None


def count_relaunch(reason: str) -> None:
    """Count one relaunch and tell the listeners (the metrics) why."""
    global _relaunch_total
    with _relaunch_lock:
        _relaunch_total += 1
    for listener in list(_relaunch_listeners):
        try:
            listener(reason)
        except Exception:  # an observer must not break recovery
            log.exception("relaunch listener failed")


def classify(exc: BaseException) -> str:
    """'dead' (relaunch), 'window' (tab gone), 'timeout' (page load or a renderer that does not
    answer: the caller probes the tab) or 'other'."""
    if isinstance(exc, InvalidSessionIdException):
        return "dead"
    if isinstance(exc, NoSuchWindowException):
        return "window"
    if isinstance(exc, TimeoutException):
        return "timeout"
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | http.client.HTTPException):
        return "dead"
    if isinstance(exc, WebDriverException):
        text = (exc.msg or str(exc)).lower()
        if any(m in text for m in DEAD_MARKERS):
            return "dead"
        if any(m in text for m in WEDGED_MARKERS):
            return "timeout"
    return "other"


def _which(*names: str) -> str | None:
    for name in names:
        if name and (path := shutil.which(name)):
            return path
    return None


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def geckodriver_path(explicit: str = "") -> str | None:
    """An explicit driver, else the bundled geckodriver 0.33 (sha256-checked), else PATH."""
    if explicit:
        return explicit
    from sayso.models import bundled_geckodriver

    bundled = bundled_geckodriver()
    if bundled is not None:
        if _sha256(str(bundled)) == GECKODRIVER_SHA256:
            if not os.access(bundled, os.X_OK):
                try:
                    bundled.chmod(0o755)
                except OSError:
                    log.warning("bundled geckodriver %s is not executable", bundled)
            return str(bundled)
        log.warning("bundled geckodriver %s does not match its pinned sha256; not using it", bundled)
    return _which("geckodriver")


class DriverSession:
    """One browser and its WebDriver, with health checks, relaunch and tab restore."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = UrlPolicy.from_settings(settings)
        self.page_timeout = float(settings.browser_page_load_timeout_s)
        self.command_timeout = max(COMMAND_TIMEOUT_S, self.page_timeout + 10.0)
        self.driver: Any = None
        self.owned: OwnedProcesses | None = None
        self.guard: OrphanGuard | None = None
        self.relaunches = 0
        self.hung_urls: set[str] = set()
        self.zoom: dict[str, float] = {}
        self._tab_cache: dict[str, tuple[str, str]] = {}  # handle -> (url, title)
        self._state = BrowserState()
        self._profile_dir: str | None = None
        self._kill_lock = threading.Lock()
        self.watchdog_fired = threading.Event()
        _live_sessions.add(self)

    # ------------------------------------------------------------------ launch

    @property
    def started(self) -> bool:
        return self.driver is not None

    @property
    def state(self) -> BrowserState:
        return self._state

    def ensure(self) -> bool:
        """Launch the browser if it is not running; True if it was launched now."""
        if self.driver is not None:
            return False
        self.launch()
        return True

    def launch(self) -> None:
        kind = self.settings.browser
        t0 = time.monotonic()
        try:
            if self.settings.browser_remote_url:
                self.driver = self._launch_remote(kind)
            elif kind == "firefox":
                self.driver = self._launch_firefox()
            else:
                self.driver = self._launch_chromium()
            d = self.driver
            d.command_executor._client_config.timeout = self.command_timeout
            d.set_page_load_timeout(self.page_timeout)
            d.set_script_timeout(SCRIPT_TIMEOUT_S)
            d.implicitly_wait(0)
        except BrowserError:
            self._cleanup()
            raise
        except Exception as exc:
            self._cleanup()
            where = self.settings.browser_remote_url or kind
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else short_error(exc)  # no file paths
            raise BrowserError(
                f"I couldn't start the browser ({where}): {why}",
                code="browser.launch_failed",
                hint="Run 'sayso doctor' to check the browser and its driver.",
            ) from exc
        if self.owned is not None:
            service = getattr(d, "service", None)
            if service is not None and service.process is not None:
                self.owned.add_tree(service.process.pid)  # children that appeared while starting
                try:
                    kids = psutil.Process(service.process.pid).children()
                    self.owned.browser_pid = kids[0].pid if kids else None
                except psutil.Error:
                    pass
            if kind == "firefox" and isinstance(d.capabilities.get("moz:profile"), str):
                self.owned.marker = d.capabilities["moz:profile"]
                if self.guard is not None:
                    self.guard.remove_on_death(self.owned.marker)
        self.watchdog_fired.clear()
        log.info("browser %s started in %.0f ms", kind, (time.monotonic() - t0) * 1000)
        home = self.settings.home_url
        if home and home != "about:blank":
            try:
                d.get(self.policy.check(home))
            except (UnsafeUrlError, WebDriverException) as exc:
                log.warning("could not open the home page: %s", short_error(exc))
        try:
            self.refresh_state()
        except WebDriverException as exc:  # a fresh tab still starting on a busy machine
            log.info("no state from the new browser yet: %s", short_error(exc))
            self._state = BrowserState(url="about:blank", tabs=(TabInfo(1, "", "about:blank", True),))

    def _launch_chromium(self) -> Any:
        from selenium.webdriver.chrome.service import Service

        driver_path = self.settings.browser_driver or _which("chromedriver") or "/usr/bin/chromedriver"
        binary = self.settings.browser_binary or _which("chromium", "chromium-browser", "google-chrome")
        if not os.path.exists(driver_path):
            raise BrowserError(
                "chromedriver is not installed.", code="browser.launch_failed",
                hint="Install it with: sudo apt-get install chromium-driver",
            )
        if not binary:
            raise BrowserError(
                "Chromium is not installed.", code="browser.launch_failed",
                hint="Install it with: sudo apt-get install chromium",
            )
        self._profile_dir = tempfile.mkdtemp(prefix="sayso-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = binary
        opts.page_load_strategy = "eager"
        if self.settings.browser_headless:
            opts.add_argument("--headless=new")
        if self.settings.browser_headless or os.geteuid() == 0:
            opts.add_argument("--no-sandbox")  # root or no display: the sandbox cannot start
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self._profile_dir}")
        opts.add_argument("about:blank")  # not the new-tab page
        tag = uuid.uuid4().hex
        service = Service(executable_path=driver_path, env={**os.environ, TAG_ENV: tag}, popen_kw=dict(NEW_GROUP))
        self.owned = OwnedProcesses(None, self._profile_dir, tag)
        service.start()
        self.guard = OrphanGuard(service.process.pid, self._profile_dir)
        self.owned.add_tree(service.process.pid)
        self.owned.driver_pid = service.process.pid
        service.start = lambda: None  # already running; Chrome() would start it again
        return webdriver.Chrome(service=service, options=opts)

    def _launch_firefox(self) -> Any:
        from selenium.webdriver.firefox.service import Service

        driver_path = geckodriver_path(self.settings.browser_driver)
        binary = self.settings.browser_binary or _which("firefox-esr", "firefox")
        if not driver_path:
            raise BrowserError(
                "geckodriver is not installed.", code="browser.launch_failed",
                hint="Install it with: .venv/bin/pip install 'sayso[firefox]'",
            )
        if not binary:
            raise BrowserError(
                "Firefox is not installed.", code="browser.launch_failed",
                hint="Install it with: sudo apt-get install firefox-esr",
            )
        opts = webdriver.FirefoxOptions()
        opts.binary_location = binary
        opts.page_load_strategy = "eager"
        if self.settings.browser_headless:
            opts.add_argument("-headless")
        opts.add_argument("--width=1280")
        opts.add_argument("--height=900")
        for key, value in {
            "media.autoplay.default": 0, "media.volume_scale": "0.0", "app.update.enabled": False,
            "browser.shell.checkDefaultBrowser": False, "toolkit.telemetry.enabled": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "browser.aboutConfig.showWarning": False,
        }.items():
            opts.set_preference(key, value)
        tag = uuid.uuid4().hex
        service = Service(executable_path=driver_path, service_args=["--log", "fatal"],
                          env={**os.environ, TAG_ENV: tag}, popen_kw=dict(NEW_GROUP))
        self.owned = OwnedProcesses(None, None, tag)
        service.start()
        self.guard = OrphanGuard(service.process.pid)
        self.owned.add_tree(service.process.pid)
        self.owned.driver_pid = service.process.pid
        service.start = lambda: None
        return webdriver.Firefox(service=service, options=opts)

    def _launch_remote(self, kind: str) -> Any:
        opts: Any
        if kind == "firefox":
            opts = webdriver.FirefoxOptions()
            if self.settings.browser_headless:
                opts.add_argument("-headless")
        else:
            opts = webdriver.ChromeOptions()
            if self.settings.browser_headless:
                opts.add_argument("--headless=new")
            for flag in ("--no-sandbox", *CHROMIUM_FLAGS):
                opts.add_argument(flag)
        opts.page_load_strategy = "eager"
        self.owned = None  # nothing local to own: the Grid owns the browser
        url = self.settings.browser_remote_url
        config = ClientConfig(remote_server_addr=url, timeout=int(self.command_timeout))
        return webdriver.Remote(command_executor=url, options=opts, client_config=config)

    # ------------------------------------------------------------------ health

    def probe(self) -> bool:
        """True if the browser answers (``window_handles``) and the tab has a document."""
        if self.driver is None:
            return False
        try:
            handles = self.driver.window_handles
            if not handles:
                return False
            if self.driver.current_window_handle not in handles:
                self.driver.switch_to.window(handles[-1])
            return bool(self.driver.execute_script("return document.readyState"))
        except Exception as exc:  # any failure means "not healthy"; the caller relaunches
            log.info("browser health probe failed: %s", short_error(exc))
            return False

    def preflight(self) -> str | None:
        """Why the browser is certainly dead (its driver or main process has exited), else None.

        Costs no WebDriver call: it only looks at the processes we started.
        """
        if self.driver is None or self.owned is None:
            return None
        service = getattr(self.driver, "service", None)
        if service is not None and service.process is not None and service.process.poll() is not None:
            return "the WebDriver process exited"
        pid = self.owned.browser_pid
        if pid is not None:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return "the browser process exited"
            except psutil.NoSuchProcess:
                return "the browser process exited"
            except psutil.Error:
                pass
        return None

    def tab_responds(self) -> tuple[bool, str, str]:
        """After a timeout: does the tab still run scripts? Returns (ok, url, title), ~1 s at most."""
        d = self.driver
        try:
            d.set_page_load_timeout(1.0)
            d.set_script_timeout(1.0)
            url, title, _ = d.execute_script(PAGE_INFO_JS)
            return True, str(url), str(title)
        except Exception as exc:
            if classify(exc) == "dead":
                raise
            return False, "", ""
        finally:
            try:
                d.set_page_load_timeout(self.page_timeout)
                d.set_script_timeout(SCRIPT_TIMEOUT_S)
            except Exception:
                pass

    def recover_window(self) -> bool:
        """The current tab is gone (closed by the user): move to another one if any is left."""
        try:
            handles = self.driver.window_handles
        except Exception:
            return False
        if not handles:
            return False
        self.driver.switch_to.window(handles[-1])
        return True

    # ------------------------------------------------------------------ state

    def refresh_state(self) -> BrowserState:
        """Read the current tab's URL, title, links and results, and the tab list (three WebDriver calls)."""
        d = self.driver
        if d is None:
            self._state = BrowserState()
            return self._state
        handles = list(d.window_handles)
        current = d.current_window_handle
        info = d.execute_script(STATE_JS, MAX_STATE_ITEMS)
        url, title = (info[0], info[1]) if isinstance(info, list) and len(info) == 5 else ("", "")
        items = to_page_items(info[3]) if url else ()
        results = to_page_items(info[4], results=True) if url else ()
        self._tab_cache[current] = (str(url), str(title))
        for gone in set(self._tab_cache) - set(handles):
            del self._tab_cache[gone]
            self.zoom.pop(gone, None)
        tabs = tuple(
            TabInfo(index=i, title=self._tab_cache.get(h, ("", ""))[1],
                    url=self._tab_cache.get(h, ("", ""))[0], active=h == current)
            for i, h in enumerate(handles, start=1)
        )
        self._state = BrowserState(url=str(url), title=str(title), tabs=tabs, items=items, results=results)
        return self._state

    # ------------------------------------------------------------------ recovery

    def relaunch(self, reason: str) -> None:
        """Kill everything, start again and reopen the tabs that were open."""
        saved = self._state
        log.warning("relaunching the browser: %s", reason)
        self.kill()
        self.relaunches += 1
        count_relaunch(reason)
        self.launch()
        self.restore(saved)

    def restore(self, saved: BrowserState) -> None:
        """Reopen the saved tabs' pages (not those that hung), the active one active again."""
        tabs = [t for t in saved.tabs if t.url not in self.hung_urls][:MAX_RESTORED_TABS]
        active = next((i for i, t in enumerate(tabs, start=1) if t.active), len(tabs))
        if not tabs:
            return
        d = self.driver
        d.set_page_load_timeout(min(self.page_timeout, RESTORE_PAGE_TIMEOUT_S))
        try:
            for i, tab in enumerate(tabs):
                if i > 0:
                    d.switch_to.new_window("tab")
                if not tab.url or tab.url == "about:blank":
                    continue
                try:
                    d.get(self.policy.check(tab.url))
                except (UnsafeUrlError, TimeoutException, WebDriverException) as exc:
                    if classify(exc) == "dead":
                        raise
                    log.info("could not restore a tab: %s", short_error(exc))
                try:
                    url, title, _ = d.execute_script(PAGE_INFO_JS)
                    self._tab_cache[d.current_window_handle] = (str(url), str(title))
                except WebDriverException:
                    pass
            handles = d.window_handles
            d.switch_to.window(handles[min(active, len(handles)) - 1])
        finally:
            d.set_page_load_timeout(self.page_timeout)
        self.refresh_state()

    def kill(self) -> None:
        """End every process of this session now (safe from any thread)."""
        with self._kill_lock:
            driver, self.driver = self.driver, None
            owned = self.owned
            if owned is not None:
                n = owned.kill()
                log.info("killed %d browser processes", n)
            guard, self.guard = self.guard, None
            if guard is not None:
                guard.release()
            if driver is not None:
                service = getattr(driver, "service", None)
                if service is not None and service.process is not None:
                    try:
                        service.process.wait(timeout=5)  # reap our child
                    except Exception:
                        pass
            self._cleanup_profile()

    def quit(self) -> None:
        """Close the browser politely, then make sure nothing it started is left."""
        driver = self.driver
        if driver is not None:
            try:
                driver.command_executor._client_config.timeout = 5
                driver.quit()
            except Exception as exc:
                log.info("browser quit failed (%s); killing it", short_error(exc))
        self.kill()
        self.owned = None
        self._state = BrowserState()
        self._tab_cache.clear()
        _live_sessions.discard(self)

    def owned_pids(self) -> list[int]:
        """The pids of every running process this session started (for tests and doctor)."""
        return self.owned.alive_pids() if self.owned is not None else []

    def _cleanup(self) -> None:
        if self.owned is not None:
            self.owned.kill()
        guard, self.guard = self.guard, None
        if guard is not None:
            guard.release()
        self.driver = None
        self._cleanup_profile()

    def _cleanup_profile(self) -> None:
        if self._profile_dir:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
            self._profile_dir = None


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for logs and sentences."""
    text = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0][:200]


@atexit.register
def _kill_all_at_exit() -> None:
    for session in list(_live_sessions):
        try:
            session.kill()
        except Exception:
            pass
