"""A real HTTP SMS provider on 127.0.0.1 for tests: it records every request and answers
as told (200 with a message id, any status code, or no answer until released: a timeout).

    provider = SmsProvider().start()
    provider.answer("500", "ok")        # the next two requests: a 500, then a 200
    ...
    provider.stop()

The ``sms_provider`` fixture starts one and points the settings at it (with a short client
timeout); see ``taxdesk/notifications/tests/conftest.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OK = "ok"
HANG = "hang"
# How long a held request waits to be released before answering anyway (a bound, not a
# pause: the test releases it, or stop() does).
HOLD_LIMIT = 30.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict
    raw: bytes = b""


@dataclass
class SmsProvider:
    requests: list[Received] = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/sms/send"

    def answer(self, *answers: str) -> None:
        """What the next requests get, in order: "ok", "hang", or a status code ("500")."""
        with self.lock:
            self.answers.extend(answers)

    def next_answer(self) -> str:
        with self.lock:
            return self.answers.popleft() if self.answers else OK

    def record(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            return len(self.requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Poll until ``count`` requests arrived (or the deadline passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return True
            time.sleep(0.01)
        return False

    def start(self) -> SmsProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                number = provider.record(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw)
                )
                answer = provider.next_answer()
                if answer == HANG:
                    provider.release.wait(HOLD_LIMIT)
                    answer = OK
                if answer == OK:
                    status = 200
                    reply = {"code": 0, "message_id": f"SMS{number:06d}", "status": "accepted"}
                else:
                    status = int(answer)
                    reply = {"code": status, "error": f"provider says {status}"}
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="sms-provider", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)
