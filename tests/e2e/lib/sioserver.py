"""Starts the Socket.IO server under test for the python end-to-end tests.

The same choice as tests/e2e/lib/sio.mjs: with HUBBUB_REF=1 the npm
socket.io reference `node tests/e2e/ref/socketio-<app>.mjs`, else HUBBUB_BIN
(default build/hubbub). Both get `--listen 127.0.0.1:<port> --app <app>
<flags>` and are ready once they print a line containing `listening on` to
stderr. stop() sends SIGTERM and fails unless the process exits with code 0
(a crash, a hang or, under ASan, a leak).

import_socketio() returns Debian's python3-socketio even when `python3` is
another interpreter of the same version (e.g. pyenv's) that does not see
/usr/lib/python3/dist-packages.
"""

import atexit
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
IS_REF = os.environ.get("HUBBUB_REF") == "1"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

_live = set()


def _kill_all():
    for proc in list(_live):
        try:
            proc.kill()
        except OSError:
            pass


atexit.register(_kill_all)


def import_socketio():
    """The `socketio` module (python3-socketio, Engine.IO 4 / Socket.IO 5)."""
    try:
        return importlib.import_module("socketio")
    except ImportError:
        if DEBIAN_DIST_PACKAGES not in sys.path and os.path.isdir(DEBIAN_DIST_PACKAGES):
            sys.path.append(DEBIAN_DIST_PACKAGES)
        return importlib.import_module("socketio")


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(app, ref=None):
    """(argv prefix, name) of the server under test for `app`."""
    if ref is None:
        ref = IS_REF
    if ref:
        script = REPO / "tests" / "e2e" / "ref" / f"socketio-{app}.mjs"
        return ["node", str(script)], f"socket.io reference ({app})"
    binary = os.environ.get("HUBBUB_BIN") or str(REPO / "build" / "hubbub")
    return [binary], binary


class Server:
    """A running server: .url, .port, .stderr(), .stop()."""

    def __init__(self, app, args=(), ref=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prefix, self.name = server_command(app, ref)
        self.argv = prefix + ["--listen", f"127.0.0.1:{self.port}", "--app", app, *args]
        self._err = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopped = None
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as e:
            raise RuntimeError(f"cannot start {' '.join(self.argv)}: {e}") from None
        _live.add(self.proc)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(1)
                raise RuntimeError(
                    f"server exited with code {self.proc.returncode} before listening: "
                    f"{self._describe()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                _live.discard(self.proc)
                raise RuntimeError(
                    f'server did not print "listening on" within {READY_TIMEOUT:.0f} s: '
                    f"{self._describe()}")

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._err.append(line)
            if "listening on" in line:
                self._ready.set()
        self.proc.stderr.close()

    def stderr(self):
        with self._lock:
            return "".join(self._err)

    def _describe(self):
        return f"{' '.join(self.argv)}\n--- stderr ---\n{self.stderr()}"

    def stop(self):
        """SIGTERM, then wait; raises unless the exit code is 0."""
        if self._stopped is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._stopped = f"server did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM"
            else:
                code = self.proc.returncode
                self._stopped = "" if code == 0 else f"server exited with code {code} after SIGTERM"
            _live.discard(self.proc)
            self._reader.join(2)
        if self._stopped:
            raise AssertionError(f"{self._stopped}: {self._describe()}")
