"""Start, watch and stop the local stack's processes through pid files.

`down` must stop only what `up` started, never a process found by name: each
service writes a pid file next to the command line it ran, and a stop checks
that the pid still runs that command line before it signals anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import StackError

log = logging.getLogger(__name__)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_free_port(port: int, setting: str, host: str = "127.0.0.1") -> None:
    """Before a part starts: a port someone else holds is named with the setting to change."""
    if port_in_use(port, host):
        raise StackError(f"port {port} in use by another process: stop it or set {setting}")


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    fix: str = "",
    interval: float = 0.5,
) -> float:
    """Poll `check` until it holds; return the seconds it took.

    Fails fast when `alive` says the process died, instead of waiting out the timeout.
    """
    start = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - start
        if not alive():
            raise StackError(f"{what}: the process exited while starting. {fix}".strip())
        if time.monotonic() - start > timeout:
            raise StackError(f"{what}: not ready after {timeout:.0f}s. {fix}".strip())
        time.sleep(interval)


# Services outlive the command that started them; holding their Popen objects keeps
# Python from warning about "still running" children and lets stop() reap them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _gone(pid: int) -> bool:
    """True once the process has exited (a zombie holds no ports or files any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] != "Z":
            return False
        # A JVM's main thread turns zombie while its other threads still hold the sockets.
        return len(list(Path(f"/proc/{pid}/task").iterdir())) <= 1
    except (FileNotFoundError, ProcessLookupError):
        return True


@dataclass
class ServiceProcess:
    """One long-running process of the stack, tracked by a pid file under `run_dir`."""

    name: str
    argv: Sequence[str]
    run_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None  # run as this OS user (Postgres refuses to run as root)
    stop_signal: signal.Signals = signal.SIGTERM
    signal_group: bool = True  # False: signal only the leader (it stops its own children)

    def wait_ready(self, check: Callable[[], bool], what: str, timeout: float) -> float:
        """Seconds until `check` holds; fails at once if this process dies meanwhile."""
        return wait_until(
            check, what=what, timeout=timeout, alive=self.running, fix=f"see {self.log_file}"
        )

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid we started, if it still runs the command line we recorded."""
        try:
            pid_text, _, recorded = self.pid_file.read_text().partition("\n")
            pid = int(pid_text)
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
        except FileNotFoundError:
            return None
        return pid if cmdline.decode(errors="replace") == recorded.strip() else None

    def running(self) -> bool:
        return self.pid() is not None

    def start(self) -> bool:
        """Start the process unless it already runs; True when it was started now."""
        if self.running():
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
            )
        # Record the command line as /proc shows it, so stop() can recognise it later.
        time.sleep(0.2)
        try:
            shown = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
        except FileNotFoundError as exc:
            raise StackError(f"{self.name} exited at once; see {self.log_file}") from exc
        self.pid_file.write_text(f"{proc.pid}\n{shown.decode(errors='replace')}\n")
        _CHILDREN[proc.pid] = proc
        log.info("started service=%s pid=%d log=%s", self.name, proc.pid, self.log_file)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Send `stop_signal` to what we started, then SIGKILL its group after `timeout`."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            if self.signal_group:
                os.killpg(pid, self.stop_signal)
            else:
                os.kill(pid, self.stop_signal)
        deadline = time.monotonic() + timeout
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _gone(pid):
            log.warning(
                "service=%s ignored %s for %.0fs: killing",
                self.name,
                self.stop_signal.name,
                timeout,
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while not _gone(pid):  # its sockets are free only once it has exited
                time.sleep(0.1)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait()
        self.pid_file.unlink(missing_ok=True)
        log.info("stopped service=%s pid=%d", self.name, pid)
        return True

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the log ("" for 0: a [-0:] slice would be all of it)."""
        try:
            every = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(every[max(len(every) - lines, 0) :])
