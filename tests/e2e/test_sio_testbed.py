"""`--app testbed` driven by python-socketio (Debian's python3-socketio).

The app's behaviour is specified at the top of ref/socketio-testbed.mjs. Each
test runs over polling and over WebSocket. The server is picked like the node
tests do it (tests/e2e/lib/sioserver.py):

    HUBBUB_REF=1 python3 -m unittest discover -s tests/e2e -p 'test_sio_*.py'
    HUBBUB_BIN=build/hubbub python3 -m unittest discover -s tests/e2e -p 'test_sio_*.py'

Timeouts only bound waits; nothing asserts timing.
"""

import queue
import sys
import threading
import unittest
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import sioserver  # noqa: E402

socketio = sioserver.import_socketio()

WAIT = 5.0
# connect() waits this long after a refusal before it raises; the refusal
# itself is then awaited with WAIT through the connect_error handler.
REFUSAL_WAIT = 1.0
server = None


def setUpModule():
    global server
    server = sioserver.Server("testbed")


def tearDownModule():
    if server is not None:
        server.stop()


class Events:
    """Records every event a client gets: name -> queue of argument tuples."""

    def __init__(self, client, namespace="/"):
        self._queues = {}
        self._lock = threading.Lock()

        def on_any(event, *args):
            self._queue(event).put(args)

        client.on("*", on_any, namespace=namespace)

    def _queue(self, event):
        with self._lock:
            return self._queues.setdefault(event, queue.Queue())

    def next(self, event, timeout=WAIT):
        try:
            return self._queue(event).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f'no "{event}" event within {timeout} s') from None

    def count(self, event):
        return self._queue(event).qsize()


class TestbedCases:
    """The tests; a subclass sets TRANSPORTS."""

    TRANSPORTS = None

    def client(self, auth=None, namespaces=None, handlers=None, connect=True):
        # Our own HTTP session, closed after the client: python-engineio
        # leaves the one it makes open (ResourceWarnings on every run).
        http = requests.Session()
        self.addCleanup(http.close)
        sio = socketio.Client(reconnection=False, http_session=http)
        for (event, namespace), fn in (handlers or {}).items():
            sio.on(event, fn, namespace=namespace)
        if connect:
            sio.connect(server.url, transports=self.TRANSPORTS, auth=auth,
                        namespaces=namespaces or ["/"], wait_timeout=WAIT)
        self.addCleanup(sio.disconnect)
        return sio

    def test_connect_and_echo_with_ack(self):
        sio = self.client()
        self.assertTrue(sio.connected)
        self.assertTrue(sio.get_sid("/"))
        self.assertEqual(sio.call("echo", ("a", 1, {"b": [True, None]}), timeout=WAIT),
                         ("a", 1, {"b": [True, None]}))
        self.assertEqual(sio.call("echo", "single", timeout=WAIT), "single")
        events = Events(sio)
        sio.emit("echo", ("no", "ack"))
        self.assertEqual(events.next("echo"), ("no", "ack"))

    def test_binary_echo(self):
        sio = self.client()
        blob = bytes(range(256)) * 40
        self.assertEqual(sio.call("echo", blob, timeout=WAIT), blob)
        nested = {"inner": {"buf": b"\x00\x01\x02"}, "list": [b"xyz", 3]}
        self.assertEqual(sio.call("echo", ("t", nested), timeout=WAIT), ("t", nested))
        events = Events(sio)
        sio.emit("echo", (b"plain", "text"))
        self.assertEqual(events.next("echo"), (b"plain", "text"))

    def test_room_broadcast_between_two_clients(self):
        member = self.client()
        outsider = self.client()
        got_member = Events(member)
        got_outsider = Events(outsider)
        room = f"py-room-{'-'.join(self.TRANSPORTS)}"
        self.assertEqual(member.call("join", room, timeout=WAIT), ("joined", room))
        outsider.emit("to-room", (room, {"hello": "room"}))
        self.assertEqual(got_member.next("room-msg"), ({"hello": "room"},))
        # A marker after the room message: once the outsider has it, the room
        # message would have arrived before it if it had been sent.
        outsider.emit("emit-all", "marker")
        self.assertEqual(got_outsider.next("all"), ("marker",))
        self.assertEqual(got_member.next("all"), ("marker",))
        self.assertEqual(got_outsider.count("room-msg"), 0)
        self.assertEqual(member.call("leave", room, timeout=WAIT), ("left", room))
        outsider.emit("to-room", (room, "after leave"))
        outsider.emit("emit-all", "marker2")
        self.assertEqual(got_member.next("all"), ("marker2",))
        self.assertEqual(got_member.count("room-msg"), 0)

    def test_middleware_refusal(self):
        errors = queue.Queue()
        sio = self.client(connect=False, handlers={("connect_error", "/"): errors.put})
        with self.assertRaises(socketio.exceptions.ConnectionError):
            sio.connect(server.url, transports=self.TRANSPORTS, auth={"token": "bad"},
                        wait_timeout=REFUSAL_WAIT)
        self.assertEqual(errors.get(timeout=WAIT),
                         {"message": "unauthorized", "data": {"reason": "bad token"}})
        self.assertFalse(sio.connected)

    def test_secure_namespace(self):
        hello = queue.Queue()
        sio = self.client(auth={"token": "good"}, namespaces=["/secure"],
                          handlers={("secure-hello", "/secure"): hello.put})
        self.assertEqual(hello.get(timeout=WAIT), sio.get_sid("/secure"))

        errors = queue.Queue()
        bad = self.client(connect=False, handlers={("connect_error", "/secure"): errors.put})
        with self.assertRaises(socketio.exceptions.ConnectionError):
            bad.connect(server.url, transports=self.TRANSPORTS, auth={"token": "bad"},
                        namespaces=["/secure"], wait_timeout=REFUSAL_WAIT)
        self.assertEqual(errors.get(timeout=WAIT),
                         {"message": "unauthorized", "data": {"code": 401}})

    def test_server_asks_and_the_handler_answers(self):
        asked = queue.Queue()

        def on_question(q):
            asked.put(q)
            return f"py-answer:{q}"

        sio = self.client(handlers={("question", "/"): on_question})
        self.assertEqual(sio.call("ask", 2000, timeout=WAIT), "py-answer:q")
        self.assertEqual(asked.get(timeout=WAIT), "q")

    def test_disconnect(self):
        watcher = self.client()
        sio = self.client()
        sid = sio.get_sid("/")
        self.assertIn(sid, watcher.call("fetch", sid, timeout=WAIT))
        sio.disconnect()
        self.assertFalse(sio.connected)
        # The server forgets the socket (the DISCONNECT reached it).
        for _ in range(100):
            if watcher.call("fetch", sid, timeout=WAIT) == []:
                break
            threading.Event().wait(0.05)
        self.assertEqual(watcher.call("fetch", sid, timeout=WAIT), [])

        # And a disconnect from the server side.
        gone = threading.Event()
        other = self.client(handlers={("disconnect", "/"): gone.set})
        other.emit("disconnect-me")
        self.assertTrue(gone.wait(WAIT), "no disconnect event")
        self.assertFalse(other.connected)


class PollingTests(TestbedCases, unittest.TestCase):
    TRANSPORTS = ["polling"]


class WebSocketTests(TestbedCases, unittest.TestCase):
    TRANSPORTS = ["websocket"]


if __name__ == "__main__":
    unittest.main()
