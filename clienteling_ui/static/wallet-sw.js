// The wallet's service worker: shows an offer pushed by the hub (docs/push.md) and tells any
// open wallet page, so it lists the offer at once.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let offer = null;
  try {
    offer = event.data ? event.data.json() : null;
  } catch {
    return;
  }
  if (!offer || offer.type !== "offer") return;
  event.waitUntil(
    Promise.all([
      self.registration.showNotification(offer.title, {
        body: `${offer.description}\nCode ${offer.code}`,
        tag: "arrival-offer", // a newer offer replaces the one on screen
        data: { url: self.registration.scope },
      }),
      self.clients
        .matchAll({ type: "window" })
        .then((clients) => clients.forEach((client) => client.postMessage({ type: "offer" }))),
    ]),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url || self.registration.scope));
});
