"""The hub's HTTP + WebSocket server: werkzeug's threaded server, WebSocket-aware.

Flask-SocketIO in threading mode with simple-websocket takes over werkzeug's raw socket for a
WebSocket upgrade. A chain-wide deployment may run gunicorn -w 1 --threads N instead.
"""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """No line per request: the hub logs what matters itself, and per-request lines drown it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class WebSocketAwareHandler(QuietRequestHandler):
    """Closes the TCP connection once a WebSocket session ends."""

    def run_wsgi(self) -> None:
        """Serve one request; after a WebSocket session, drop the connection."""
        super().run_wsgi()
        # Otherwise werkzeug keeps the connection alive and parses the client's WebSocket close
        # frame as the next HTTP request, so the client waits out its close timeout (3 s each).
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True


class HubServer:
    """A WSGI app served by threads on host:port; stoppable from any thread."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=WebSocketAwareHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve on the calling thread until stop() is called."""
        self._server.serve_forever(poll_interval=0.1)

    def start(self) -> HubServer:
        """Serve in a daemon thread; returns once the socket accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
