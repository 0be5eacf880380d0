"""Real faults for tests: a TCP proxy between a client and PostgreSQL that can drop the connection right after
forwarding a COMMIT, so the server commits but the client never hears the answer."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class CommitDroppingProxy:
    """Forward 127.0.0.1:<port> to the server; when armed, the next client message containing COMMIT is forwarded
    and then both sockets are closed before the server's reply reaches the client."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
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
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}?sslmode=disable"

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

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        socks = [client, server]
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(socks, [], [], 0.2)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        server.sendall(data)
                        if self.armed.is_set() and b"COMMIT" in data.upper():
                            self.armed.clear()
                            self.dropped += 1
                            time.sleep(0.2)  # the server has the COMMIT; the client never gets the reply
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
