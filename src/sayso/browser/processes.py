"""The processes one browser launch started, and how to end them: by pid, never by name.

At launch we record the driver's process tree (pid + start time, so a reused pid is never
ours). At kill time we add what has appeared since: descendants of the recorded processes, and
helpers that left the tree (Chromium's crashpad handlers are re-parented to init) found by the
unique profile path in their command line or the ``SAYSO_BROWSER_TAG`` value in their
environment, which every process the driver starts inherits.

If the owning Python process dies without cleaning up (SIGKILL, OOM killer, a crash in native
code), ``OrphanGuard`` ends them anyway: the driver runs in a process group of its own (the
browser and its renderers inherit it), and a tiny ``sh`` child in its own session holds the read
end of a pipe whose write end only the owner has. The owner's death closes the pipe; the guard
reads EOF and SIGKILLs the group, then removes the browser profile. (Chromium's crashpad
handlers leave the group with setsid but exit by themselves once the browser is gone.)
``PR_SET_PDEATHSIG`` would not do: it fires when the *thread* that spawned the driver exits
(sayso launches browsers from worker threads), and it does not reach the browser, whose parent is
the driver.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from dataclasses import dataclass

import psutil

log = logging.getLogger(__name__)

TAG_ENV = "SAYSO_BROWSER_TAG"  # set in the driver's environment; every process it starts inherits it


@dataclass(slots=True)
class _Proc:
    pid: int
    created: float


class OwnedProcesses:
    """The processes one launch started, killed by pid (and by the unique profile marker)."""

    def __init__(self, root_pid: int | None, marker: str | None, tag: str | None = None) -> None:
        self.marker = marker  # a string in every one of our processes' command lines
        self.tag = tag  # the value of SAYSO_BROWSER_TAG in our processes' environment
        self.procs: dict[int, _Proc] = {}
        self.driver_pid: int | None = None
        self.browser_pid: int | None = None
        if root_pid is not None:
            self.add_tree(root_pid)

    def add_tree(self, pid: int) -> None:
        try:
            root = psutil.Process(pid)
            for p in (root, *root.children(recursive=True)):
                self.procs.setdefault(p.pid, _Proc(p.pid, p.create_time()))
        except psutil.Error:
            pass

    def _alive(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for rec in list(self.procs.values()):
            try:
                p = psutil.Process(rec.pid)
                if abs(p.create_time() - rec.created) > 0.01:
                    continue  # the pid was reused by someone else's process
                found[p.pid] = p
                for child in p.children(recursive=True):
                    found.setdefault(child.pid, child)
            except psutil.Error:
                continue
        if self.marker or self.tag:  # helpers that left our tree, e.g. crashpad (parent: init)
            for p in psutil.process_iter(["cmdline", "environ"]):
                if p.pid in found:
                    continue
                cmd = p.info.get("cmdline") or ()
                env = p.info.get("environ") or {}
                if (self.marker and any(self.marker in part for part in cmd)) or (
                    self.tag and env.get(TAG_ENV) == self.tag
                ):
                    found[p.pid] = p
        me = os.getpid()
        return [p for pid, p in found.items() if pid != me]

    def alive_pids(self) -> list[int]:
        out = []
        for p in self._alive():
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p.pid)
            except psutil.Error:
                continue
        return out

    def kill(self) -> int:
        """SIGKILL every owned process that is still running; returns how many were killed."""
        procs = self._alive()
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)
        return len(procs)


# $1: the process group to kill; lines on stdin: "dir PATH" (remove PATH too), "release" (the
# owner cleaned up itself: exit quietly). EOF without "release" means the owner died.
_GUARD_SH = """
dir=""
while IFS= read -r line; do
  case "$line" in
    release) exit 0 ;;
    "dir "*) dir="${line#dir }" ;;
  esac
done
kill -9 "-$1" 2>/dev/null  # dash: no "--", no -s with a negative pid
if [ -n "$dir" ]; then sleep 1; rm -rf -- "$dir"; fi
"""
NEW_GROUP = {"start_new_session": True}  # popen keywords for the driver: its own process group


class OrphanGuard:
    """Kills the driver's process group (driver, browser, renderers) when the owner dies first."""

    def __init__(self, pgid: int, profile_dir: str | None = None) -> None:
        self.pgid = pgid
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(
                ["/bin/sh", "-c", _GUARD_SH, "sayso-browser-guard", str(pgid)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the owner's terminal must not end the guard
            )
        except OSError as exc:  # no /bin/sh: sayso's own cleanup still runs on a normal exit
            log.warning("no guard for the browser's processes (%s)", exc.strerror or exc)
        if profile_dir:
            self.remove_on_death(profile_dir)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def remove_on_death(self, path: str) -> None:
        """Also delete ``path`` (the browser profile) if the owner dies."""
        self._send(f"dir {path}\n")

    def release(self) -> None:
        """The owner ended the processes itself: stop guarding them (never kills)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.write(b"release\n")
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _send(self, line: str) -> None:
        if self._proc is None or self._proc.stdin is None or "\n" in line[:-1]:
            return
        with contextlib.suppress(OSError):
            self._proc.stdin.write(line.encode())
            self._proc.stdin.flush()
