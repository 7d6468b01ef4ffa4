{% load static %}// batoshelf's service worker: shows a web push as a system notification, even with every tab closed,
// and opens its title's page on a click (notifications/webpush.py sends them).
"use strict";

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data.text() };
  }
  event.waitUntil(self.registration.showNotification(data.title || "batoshelf", {
    body: data.body || "",
    tag: data.tag,
    data: { url: data.url || "{% url 'notifications:list' %}" },
    icon: "{% static 'batoshelf/icon-192.png' %}",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, self.location.origin).href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const same = open.find((client) => client.url === url);
    if (same) return same.focus();
    return self.clients.openWindow(url);
  })());
});
