"""The processes one browser launch started, and how to end them: by pid, never by name.

At launch we record the driver's process tree (pid + start time, so a reused pid is never
ours). At kill time we add what has appeared since: descendants of the recorded processes, and
helpers that left the tree (Chromium's crashpad handlers are re-parented to init) found by the
unique profile path in their command line or the ``SAYSO_BROWSER_TAG`` value in their
environment, which every process the driver starts inherits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

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
