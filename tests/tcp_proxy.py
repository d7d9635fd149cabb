"""A TCP proxy on 127.0.0.1 between the service and its database: a database a network hop away, one that
goes away and comes back, and a count of the round trips it is asked for.

- ``TcpProxy(host, port, delay_seconds=...)`` reserves a port (bound, not yet listening: connecting is
  refused, as when nothing runs there); ``start()`` begins forwarding. Every chunk is delivered
  ``delay_seconds`` after it arrived, in each direction (so a round trip costs twice that), without
  holding back what follows it: the link has latency, not less bandwidth.
- ``round_trips`` counts exchanges: a client's turn to speak after the server spoke (or first) is one.
  ``reset_counts()`` starts counting again.
- ``cut()`` drops every open connection (both ends see it closed) and turns every new connection away as
  soon as it is accepted: what a client sees when the database server dies or restarts.
- ``restore()`` forwards new connections again.
- ``hold()`` stops delivering anything while keeping every connection open (a database that hangs, or a
  network partition before TCP notices); ``release()`` delivers what was held and goes on.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int, delay_seconds: float = 0.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay_seconds = delay_seconds
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._client_spoke_last: dict[socket.socket, bool] = {}
        self.connections = 0  # accepted and forwarded, for the test's own checks
        self.round_trips = 0

    def start(self) -> None:
        self._forwarding.set()
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self._spawn(self._accept_loop)

    def reset_counts(self) -> None:
        with self._lock:
            self.round_trips = 0

    def cut(self) -> None:
        self._forwarding.clear()
        with self._lock:
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        self._forwarding.set()

    def hold(self) -> None:
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._forwarding.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if not self._forwarding.is_set():  # cut while connecting
                    _close(client)
                    _close(upstream)
                    continue
                self._open.update((client, upstream))
                self._client_spoke_last[client] = False
                self.connections += 1
            self._spawn(self._pump, client, upstream, client, True)
            self._spawn(self._pump, upstream, client, client, False)

    def _count(self, client: socket.socket, from_client: bool) -> None:
        with self._lock:
            if from_client and not self._client_spoke_last.get(client, False):
                self.round_trips += 1
            self._client_spoke_last[client] = from_client

    def _pump(
        self, source: socket.socket, sink: socket.socket, client: socket.socket, from_client: bool
    ) -> None:
        delayed: queue.Queue[tuple[float, bytes] | None] | None = None
        if self.delay_seconds > 0:
            delayed = queue.Queue()
            self._spawn(self._deliver, delayed, source, sink)
        try:
            while data := source.recv(65536):
                self._count(client, from_client)
                self._flowing.wait()
                if delayed is None:
                    sink.sendall(data)
                else:
                    delayed.put((time.monotonic() + self.delay_seconds, data))
        except OSError:
            pass
        if delayed is None:
            self._forget(source, sink)
        else:
            delayed.put(None)  # the delivering thread closes both ends once what came before went out

    def _deliver(
        self, delayed: queue.Queue[tuple[float, bytes] | None], source: socket.socket, sink: socket.socket
    ) -> None:
        while (item := delayed.get()) is not None:
            due, data = item
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the simulated link's latency, not a synchronisation
            try:
                sink.sendall(data)
            except OSError:
                break
        self._forget(source, sink)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._open.discard(sock)
                self._client_spoke_last.pop(sock, None)
        for sock in socks:
            _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
