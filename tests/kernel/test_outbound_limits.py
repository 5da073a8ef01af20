"""Outgoing requests: one overall deadline, a bounded body, a bounded DNS wait, IDNA hosts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from outbound_kit import Receiver
from tollway.kernel import outbound
from tollway.kernel.outbound import MAX_RESPONSE_BYTES, Refused, http_client, post


def loopback(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]


@pytest.fixture
def raw_server() -> Iterator[tuple[socket.socket, list[str]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    modes: list[str] = []

    def run() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            try:
                if modes[0] == "drip":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                    for _ in range(100):
                        conn.sendall(b"x")
                        time.sleep(0.3)
                else:
                    conn.sendall(b"HTTP/1.1 500 X\r\nContent-Length: 300000000\r\n\r\n")
                    chunk = b"y" * 1_000_000
                    for _ in range(300):
                        conn.sendall(chunk)
            except OSError:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield server, modes
    server.close()


def test_a_dripping_server_is_cut_off_at_the_deadline(
    raw_server: tuple[socket.socket, list[str]],
) -> None:
    server, modes = raw_server
    modes.append("drip")
    port = server.getsockname()[1]
    started = time.monotonic()
    with http_client(1.0) as client:
        reply = post(
            client,
            f"http://127.0.0.1:{port}/",
            allow_private=True,
            content=b"{}",
            headers={},
            deadline_seconds=1.0,
        )
    elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert reply.truncated
    assert elapsed < 2.0  # the deadline plus at most one read wait, not 30 s


def test_a_huge_body_is_not_downloaded(raw_server: tuple[socket.socket, list[str]]) -> None:
    server, modes = raw_server
    modes.append("big")
    port = server.getsockname()[1]
    with http_client(5.0) as client:
        reply = post(
            client, f"http://127.0.0.1:{port}/", allow_private=True, content=b"{}", headers={}
        )
    assert reply.status_code == 500
    assert reply.truncated
    assert len(reply.content) == MAX_RESPONSE_BYTES


def test_a_hung_resolver_is_abandoned_at_the_deadline() -> None:
    release = threading.Event()

    def hang(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        release.wait(10)
        return loopback(host, port)

    started = time.monotonic()
    try:
        with http_client(0.5) as client, pytest.raises(Refused, match="did not resolve in time"):
            post(
                client,
                "http://hooks.example.com/",
                allow_private=False,
                content=b"{}",
                headers={},
                resolve=hang,
                deadline_seconds=0.5,
            )
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


def test_an_internationalised_host_is_sent_in_punycode() -> None:
    with Receiver() as receiver, http_client(5) as client:
        port = receiver.server.server_address[1]
        reply = post(
            client,
            f"http://bücher.example:{port}/hook",
            allow_private=True,
            content=b"{}",
            headers={},
            resolve=loopback,
        )
    assert reply.status_code == 200
    [received] = receiver.requests
    assert received.headers["host"] == f"xn--bcher-kva.example:{port}"


def test_an_invalid_host_name_is_refused() -> None:
    assert outbound.url_refusal("http://a..b/", allow_private=True) == (
        "has an invalid host name 'a..b'"
    )
