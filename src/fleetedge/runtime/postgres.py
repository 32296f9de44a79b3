"""A private PostgreSQL server from Debian's package, for the read models in tests and benches.

PostgreSQL refuses to run as root, so when we are root the server runs as the package's
``postgres`` user, in a data directory handed to it. It listens on 127.0.0.1 and a socket in
its own directory only, with trust authentication limited to those.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from fleetedge.runtime.exceptions import PostgresError


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise PostgresError(
            "PostgreSQL is not installed",
            hint="apt-get install postgresql (make setup installs it)",
        )
    return found[-1].parent


class PostgresServer:
    """``start`` initialises (once) and runs the server; ``stop`` ends it; ``url`` connects."""

    def __init__(self, directory: Path, port: int, *, database: str = "fleetedge") -> None:
        self.directory = directory
        self.port = port
        self.database = database
        self.bin = _bin_dir()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        """The cluster's files. As root, the ``postgres`` user must reach them, and a test's
        directory under root's 0700 home is out of its reach: they go to a directory of their
        own in the system's temporary directory, named after ``directory``."""
        if os.geteuid() != 0:
            return self.directory / "data"
        digest = hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"fleetedge-pg-{digest}"

    @property
    def url(self) -> str:
        return f"postgresql://fleetedge@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self, timeout: float = 60.0) -> PostgresServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            done = subprocess.run(
                self._as_owner(
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "fleetedge",
                    "-A",
                    "trust",
                    "--no-sync",
                ),
                check=False,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise PostgresError(f"initdb failed in {self.data}: {done.stderr[-2000:]}")
        log = (self.directory / "postgres.log").open("ab")
        self._proc = subprocess.Popen(
            self._as_owner(
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.data),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.directory / "postgres.log").read_text()[-2000:]
                self.stop()
                raise PostgresError(f"PostgreSQL did not start on port {self.port}:\n{tail}")
            time.sleep(0.2)
        subprocess.run(
            [
                str(self.bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "fleetedge",
                self.database,
            ],
            check=False,
            capture_output=True,
        )
        return self

    def _ready(self) -> bool:
        done = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
            capture_output=True,
        )
        return done.returncode == 0

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # the runuser wrapper passes SIGTERM on: a smart shutdown
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None

    def purge(self) -> None:
        """Stop, and delete the cluster's files."""
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
