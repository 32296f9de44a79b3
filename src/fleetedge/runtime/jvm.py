"""Starting and signalling the Kafka JVMs.

A JVM runs in its own session so that it outlives the ``fleet`` command that started it and is
controlled afterwards by pid. Every command line carries ``-Dfleetedge.process=<dir>``, so a pid
recorded in state is trusted only while it still names the same process (pids get reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from fleetedge.runtime.classes import archive_path, use_options
from fleetedge.runtime.jars import KafkaJars
from fleetedge.runtime.toolchain import Java

LOG_FILE = "server.log"
OUT_FILE = "server.out"


@dataclass(frozen=True)
class KafkaRuntime:
    """A Java and the Kafka jars: what every Kafka process is started from."""

    java: Java
    jars: KafkaJars
    heap_mb: int = 384
    extra_options: tuple[str, ...] = ()
    # C2 as well as C1: for a broker whose every connection is TLS (see below).
    full_jit: bool = False

    def class_data_options(self) -> tuple[str, ...]:
        """The class-data archive's options, if ``fleet runtime fetch`` built it
        (:mod:`fleetedge.runtime.classes`)."""
        return use_options(archive_path(self.jars))

    def jvm_options(self, log_dir: Path, log4j_config: Path, marker: Path) -> list[str]:
        return [
            *self.class_data_options(),
            "-Xms64m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:ParallelGCThreads=1",
            "-XX:ConcGCThreads=1",
            # C1 only: a local broker lives minutes to hours on a 2-core box, where C2's
            # compiling cost more CPU than its code saved (bench/jvm_cpu.py: 0.66x the CPU to
            # start, 0.54x under load). Not for a broker that speaks TLS on every connection,
            # whose TLS work gains more from C2 than C2 costs: a running test fleet's secured
            # shore took 35 % of a core on C1, 25 % with C2 from its second minute on. A
            # production broker runs under Strimzi, not this.
            *(() if self.full_jit else ("-XX:TieredStopAtLevel=1",)),
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dfleetedge.process={marker}",
            f"-Dlog4j2.configurationFile=file:{log4j_config}",
            f"-Dkafka.logs.dir={log_dir}",
            *self.extra_options,
        ]

    def command(
        self,
        main_class: str,
        args: Sequence[str],
        *,
        log_dir: Path,
        log4j_config: Path,
        marker: Path,
    ) -> list[str]:
        """The command line that runs ``main_class`` with this runtime's JVM options."""
        return [
            str(self.java.path),
            *self.jvm_options(log_dir, log4j_config, marker),
            "-cp",
            self.jars.classpath,
            main_class,
            *args,
        ]  # fmt: skip

    def spawn(
        self,
        main_class: str,
        args: Sequence[str],
        *,
        log_dir: Path,
        log4j_config: Path,
        marker: Path,
    ) -> subprocess.Popen[bytes]:
        """Start ``main_class`` detached, its stdout/stderr going to ``log_dir/server.out``."""
        command = self.command(
            main_class, args, log_dir=log_dir, log4j_config=log4j_config, marker=marker
        )
        return self.spawn_command(command, log_dir=log_dir)

    @staticmethod
    def spawn_command(command: Sequence[str], *, log_dir: Path) -> subprocess.Popen[bytes]:
        """Start ``command`` in a session of its own, its output to ``log_dir/server.out``."""
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / OUT_FILE).open("ab") as out:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def run_tool(
        self, main_class: str, args: Sequence[str], timeout: float = 120
    ) -> tuple[int, str]:
        """Run a Kafka command-line tool to completion; (exit code, combined output)."""
        command = [
            str(self.java.path),
            *self.class_data_options(),
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Dlog4j2.level=WARN",
            "-cp",
            self.jars.classpath,
            main_class,
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        return done.returncode, done.stdout + done.stderr


def process_alive(pid: int | None, marker: Path) -> bool:
    """True if ``pid`` runs and is the JVM started with ``marker`` (not a zombie, not a reuse)."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return f"-Dfleetedge.process={marker}" in proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def find_processes(marker_prefix: Path) -> list[int]:
    """Pids of live FleetEdge JVMs whose marker lies under ``marker_prefix`` (leak detection)."""
    prefix = f"-Dfleetedge.process={marker_prefix}"
    found: list[int] = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if any(arg.startswith(prefix) for arg in cmdline):
            found.append(int(proc.info["pid"]))
    return found


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid``, ignoring a process that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _exited(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` (known to be ours a moment ago) has exited; True if it did in time.

    Waits for the process itself, not for its marker: a JVM's /proc cmdline is empty while it
    exits, and its sockets stay bound until it is gone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0  # not our child: its own parent (or init) reaps it
        if finished == pid or _exited(pid):
            return True
        time.sleep(0.05)
    return _exited(pid)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or '' when it does not exist."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class MarkedJvm:
    """A long-running JVM of ours (a Connect worker, a MirrorMaker 2), found again from any
    process by its marker ``directory``; its logs go to ``directory/logs``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def log_dir(self) -> Path:
        return self.directory / "logs"

    def pids(self) -> list[int]:
        return find_processes(self.directory)

    def alive(self) -> bool:
        if self._child is not None and self._child.poll() is not None:
            self._child = None
        return bool(self.pids())

    def kill(self) -> None:
        """SIGKILL the JVM (what a crash looks like) and reap it."""
        for pid in self.pids():
            send_signal(pid, signal.SIGKILL)
            wait_gone(pid, 30)
        self._reap()

    def signal_stop(self) -> None:
        """SIGTERM without waiting: several JVMs then stop side by side (``stop`` waits)."""
        for pid in self.pids():
            send_signal(pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean exit), then SIGKILL after ``timeout``."""
        for pid in self.pids():
            send_signal(pid, signal.SIGTERM)
            if not wait_gone(pid, timeout):
                send_signal(pid, signal.SIGKILL)
                wait_gone(pid, 30)
        self._reap()

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_dir / LOG_FILE, lines)

    def _reap(self) -> None:
        if self._child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(timeout=5)
            self._child = None
