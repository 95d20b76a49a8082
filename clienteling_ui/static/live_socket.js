// The live connection both tablet pages keep to the hub: WebSocket first, the transport shown on
// <body data-transport>, a resync after every reconnection, a retry when the snapshot does not
// come, and the status line and offline banner kept in step. Each page says what its snapshot
// is and what to forget when the connection drops.

// A snapshot can fail to come (the hub's read errored): ask again rather than show nothing.
const SNAPSHOT_RETRY_MS = 8_000;
// After the hub drops the session on purpose (a restart, say), wait before knocking again.
const SERVER_DISCONNECT_RETRY_MS = 5_000;

/**
 * Open `namespace` for the signed-in associate of `storeId`.
 * - isSnapshotPending(): whether the page still waits for a snapshot (retried with `resync`);
 * - setStatus(kind, text): the status line ("connected" | "offline" | "error");
 * - offline: the banner shown while a connection that worked is down;
 * - onConnect(), onDisconnect(): the page's own bookkeeping (clear errors, forget held events);
 * - onRefused(message): the hub refused the connection and socket.io will not retry.
 */
export function openLiveSocket(io, options) {
  const { namespace, storeId, isSnapshotPending, setStatus, offline } = options;
  const { onConnect = () => {}, onDisconnect = () => {}, onRefused } = options;
  const body = document.body;
  let everConnected = false;
  let snapshotTimer = 0;
  const socket = io(namespace, {
    // WebSocket first; long-polling only if a proxy on the way blocks WebSocket.
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    // The hub admits the tablet by its sign-in session cookie; the store id must match it.
    auth: { store_id: storeId },
  });
  const setTransport = (name) => {
    body.dataset.transport = name || "";
  };

  const armSnapshotRetry = () => {
    clearTimeout(snapshotTimer);
    snapshotTimer = setTimeout(() => {
      if (isSnapshotPending() && socket.connected) {
        socket.emit("resync");
        armSnapshotRetry();
      }
    }, SNAPSHOT_RETRY_MS);
  };

  // The manager builds a new engine for every reconnection, so follow upgrades on each one.
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    setTransport(engine.transport.name);
    engine.on("upgrade", (transport) => setTransport(transport.name));
  });

  socket.on("connect", () => {
    body.dataset.connection = "connected";
    setTransport(socket.io.engine.transport.name);
    setStatus("connected", "Live");
    offline.hidden = true;
    onConnect();
    if (everConnected) socket.emit("resync");
    everConnected = true;
    armSnapshotRetry();
  });

  socket.on("disconnect", (reason) => {
    body.dataset.connection = "disconnected";
    clearTimeout(snapshotTimer);
    onDisconnect();
    setStatus("offline", "Offline");
    offline.hidden = false;
    if (reason === "io server disconnect") {
      // socket.io only retries by itself after a lost transport. If the hub no longer wants
      // this tablet, the next attempt is refused and connect_error below says why.
      setTimeout(() => socket.connect(), SERVER_DISCONNECT_RETRY_MS);
    }
  });

  socket.on("connect_error", (error) => {
    body.dataset.connection = "disconnected";
    if (!socket.active) {
      // Refused by the hub (signed out, unknown store, wrong role): no retry, so say why.
      setStatus("error", "Not connected");
      onRefused(error.message);
      return;
    }
    setStatus("offline", everConnected ? "Offline" : "Connecting…");
    if (everConnected) offline.hidden = false;
  });

  return socket;
}
