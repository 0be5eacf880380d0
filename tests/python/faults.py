"""Real faults for tests: a TCP proxy between a client and PostgreSQL that can drop the connection right after
forwarding what commits a transaction -- a COMMIT, or (``on="statement"``) the next statement, which commits by
itself on an autocommit connection such as the adapter's -- so the server commits but the client never hears the
answer."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

_SSL_REQUEST = (80877103).to_bytes(4, "big")
_GSSENC_REQUEST = (80877104).to_bytes(4, "big")


def _split_messages(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The type bytes of the complete protocol messages at the start of ``buffer`` (each: a type byte, then its
    length as 4 bytes, counting itself), and what is left of ``buffer`` after them."""
    types: list[bytes] = []
    while len(buffer) >= 5:
        size = 1 + int.from_bytes(buffer[1:5], "big")
        if len(buffer) < size:
            break
        types.append(buffer[:1])
        buffer = buffer[size:]
    return types, buffer


class CommitDroppingProxy:
    """Forward 127.0.0.1:<port> to the server. When armed, the next client packet that ends a transaction is
    forwarded and then both sockets are closed before the server's reply reaches the client: with ``on="commit"``
    a packet containing COMMIT; with ``on="statement"`` a packet that runs a statement (a simple Query, or an
    extended-protocol Execute with its Sync), which on an autocommit connection commits it. The client's byte
    stream is split into protocol messages (the first is the startup message, without a type byte) to find them."""

    def __init__(self, server_port: int, on: str = "commit") -> None:
        if on not in ("commit", "statement"):
            raise ValueError(f"on must be 'commit' or 'statement', not {on!r}")
        self.server_port = server_port
        self.on = on
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self.armed = threading.Event()
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, dbname: str, user: str = "postgres") -> str:
        # sslmode=disable: the proxy looks at plain protocol bytes
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}?sslmode=disable&gssencmode=disable"

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.server_port))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _ends_transaction(self, data: bytes, types: list[bytes]) -> bool:
        if self.on == "commit":
            return b"COMMIT" in data.upper()
        # a statement that runs: a simple Query, or an extended-protocol Execute (psycopg prepares a statement it
        # has run 5 times with a Parse + Sync round trip of its own, which must not count)
        return b"Q" in types or b"E" in types

    @staticmethod
    def _swallow_answer(server: socket.socket, timeout: float = 30.0) -> None:
        """Read the server's answer up to its ReadyForQuery ('Z') without forwarding it. Waiting for it (rather
        than closing at once) makes sure the server has read and committed what was forwarded: a connection reset
        before the server reads its input would discard it. The server's stream starts at a message boundary here:
        the client sent the statement after the whole previous answer."""
        pending = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            types, pending = _split_messages(pending)
            if b"Z" in types:
                return
            readable, _, _ = select.select([server], [], [], 0.2)
            if readable:
                chunk = server.recv(65536)
                if not chunk:
                    return
                pending += chunk

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        socks = [client, server]
        pending = b""  # the client's bytes not yet split into messages
        started = False  # the startup message (no type byte) has been seen
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(socks, [], [], 0.2)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        pending += data
                        # untyped messages first: an SSL or GSSAPI encryption request, then the startup message
                        while not started and len(pending) >= 8 and len(pending) >= int.from_bytes(pending[:4], "big"):
                            started = pending[4:8] not in (_SSL_REQUEST, _GSSENC_REQUEST)
                            pending = pending[int.from_bytes(pending[:4], "big") :]
                        types: list[bytes] = []
                        if started:
                            types, pending = _split_messages(pending)
                        server.sendall(data)
                        if self.armed.is_set() and self._ends_transaction(data, types):
                            self.armed.clear()
                            self.dropped += 1
                            self._swallow_answer(server)  # the server committed and answered; nobody hears it
                            return
                    else:
                        client.sendall(data)
        finally:
            for s in socks:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=2)
