"""Real receivers on loopback for outgoing HTTP and email, and a helper that relays
events and runs due jobs the way a worker would."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI

from tollway.jobs import relay_events, run_due
from tollway.kernel.clock import FixedClock


class MovableClock(FixedClock):
    """A fixed clock the test can move (as the root conftest's)."""

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every POST and answers with
    the next status of ``statuses`` (then ``default``)."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        default: int = 200,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.statuses = list(statuses or [])
        self.default = default
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"nope")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        self.sink = _Sink()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=_free_port())

    @property
    def messages(self) -> list[tuple[str, list[str], EmailMessage]]:
        return self.sink.messages

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def settle(app: FastAPI) -> int:
    """Relay events and run due jobs until nothing is left; returns how much ran."""
    state = app.state.tollway
    total = 0
    while True:
        step = relay_events(state.session_factory, state.registry, state.clock)
        while ran := run_due(state.session_factory, state.registry, state.clock, worker_id="t"):
            step += ran
        total += step
        if step == 0:
            return total
