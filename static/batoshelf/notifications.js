// Live notifications on every page of a logged-in reader: the unread badge, a toast for each new
// one, new rows on the notifications page, and mark-read without a reload. The server is the
// record; this only shows it. Every message from the socket is also told to the page as a
// "batoshelf:message" event, for the shelf's script (shelf.js).
(function () {
  "use strict";

  const body = document.body;
  const socketPath = body.dataset.socketPath;
  if (!socketPath || !("WebSocket" in window)) return;

  const csrfToken = body.dataset.csrfToken;
  const badge = document.getElementById("unread-badge");
  const liveStatus = document.getElementById("live-status");
  const list = document.getElementById("notification-list");
  const seen = new Set();
  let lastSeenId = Number(body.dataset.lastNotificationId || 0);
  let retryDelay = 1000;
  let socket = null;

  document.querySelectorAll("[data-notification-id]").forEach((el) => seen.add(Number(el.dataset.notificationId)));

  const plainTitle = document.title;

  function setBadge(count) {
    // The tab shows the unread count too, as "(3) Shelf · batoshelf".
    document.title = count > 0 ? `(${count}) ${plainTitle}` : plainTitle;
    if (!badge) return;
    badge.dataset.count = String(count);
    badge.textContent = String(count);
    badge.hidden = count === 0;
  }

  // A system notification for a push that arrives while this tab is hidden, once the reader allowed it
  // (asked on their click on the settings page, never on load).
  function desktopAlert(n) {
    if (!document.hidden || !("Notification" in window) || window.Notification.permission !== "granted") return;
    const alert = new window.Notification(n.title_name || "batoshelf", { body: n.message, tag: `batoshelf-${n.id}` });
    alert.onclick = () => { window.focus(); alert.close(); };
  }

  function setLive(state) {
    if (liveStatus) {
      liveStatus.textContent = state;
      liveStatus.dataset.state = state;
    }
  }

  function toast(text, href) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement(href ? "a" : "div");
    item.className = "toast";
    item.textContent = text;
    if (href) item.href = href;
    box.appendChild(item);
    setTimeout(() => item.remove(), 8000);
  }
  window.batoshelfToast = toast;

  // The row comes from the server, rendered by the template the page uses (notifications/row.html).
  function rowFrom(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function showOnPage(n, html) {
    if (!list || list.dataset.live !== "1" || !html) return;
    document.getElementById("no-notifications")?.remove();
    const row = rowFrom(html);
    // Newest first, as the server orders them: before the first row with a smaller id.
    const after = [...list.children].find((el) => Number(el.dataset.notificationId) < n.id);
    list.insertBefore(row, after || null);
  }

  function receive(n, html, { announce }) {
    if (seen.has(n.id)) return;  // delivered twice (relay and backlog): show once
    seen.add(n.id);
    lastSeenId = Math.max(lastSeenId, n.id);
    showOnPage(n, html);
    if (announce) toast(n.message, n.title_url || "/notifications/");
  }

  function showRead(ids) {
    ids.forEach((id) => {
      document.querySelectorAll(`li.notification[data-notification-id="${id}"]`).forEach((row) => {
        row.classList.remove("unread");
        row.querySelector("button.mark-read")?.remove();
      });
    });
  }

  function onMessage(event) {
    const data = JSON.parse(event.data);
    if (data.type === "sync") {
      setBadge(data.unread_count);
      data.notifications.forEach((n) => receive(n, null, { announce: false }));
      const count = data.notifications.filter((n) => !n.is_read).length;
      if (count) toast(`${count} new notification${count === 1 ? "" : "s"} while you were away`, "/notifications/");
      if (data.more_missed && list) toast("More arrived than fit here: reload to see them all", null);
    } else if (data.type === "notification") {
      receive(data.notification, data.html, { announce: true });
      setBadge(data.unread_count);
      desktopAlert(data.notification);
    } else if (data.type === "read") {
      showRead(data.ids);
      setBadge(data.unread_count);
    }
    document.dispatchEvent(new CustomEvent("batoshelf:message", { detail: data }));
  }

  function connect() {
    if (socket) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${socketPath}?since=${lastSeenId}`);
    socket.addEventListener("open", () => { retryDelay = 1000; setLive("live"); });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", (event) => {
      setLive("offline");
      socket = null;
      // 4400: the server said our request is wrong; 4002: a newer page took this one's place. Retrying helps neither.
      if (event.code === 4400 || event.code === 4002) return;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  async function postJSON(url, payload) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, "Accept": "application/json", "Content-Type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }
  window.batoshelfPost = postJSON;

  // Mark read without leaving the page; without JavaScript the form posts as usual.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.id === "mark-read-form") {
      event.preventDefault();
      const id = Number(event.submitter?.dataset.notificationId);
      if (!id) return;
      try {
        const data = await postJSON(`/api/notifications/${id}/read`);
        showRead([id]);
        setBadge(data.unread_count);
      } catch (error) {
        toast(`Could not mark it read: ${error.message}`, null);
      }
    } else if (form.id === "read-all-form") {
      event.preventDefault();
      try {
        const data = await postJSON("/api/notifications/read-all");
        // On the Unread tab nothing is left to show: the page says so, as the server renders it.
        if (document.getElementById("notification-list")?.dataset.show === "unread") return window.location.reload();
        document.querySelectorAll("li.notification.unread").forEach((row) => showRead([Number(row.dataset.notificationId)]));
        setBadge(data.unread_count);
      } catch (error) {
        toast(`Could not mark them read: ${error.message}`, null);
      }
    }
  });

  // The settings page's button: web push to this device. Only its click asks for permission.
  const devices = document.getElementById("devices");
  const deviceButton = document.getElementById("device-alerts");
  const deviceState = document.getElementById("device-alerts-state");
  function keyBytes(base64url) {
    const raw = window.atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  async function turnOnDeviceAlerts() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      deviceState.textContent = "This browser cannot take alerts. On an iPhone, add batoshelf to the home screen first.";
      return;
    }
    if (await window.Notification.requestPermission() !== "granted") {
      deviceState.textContent = "Blocked: allow notifications for this site in the browser's settings, then try again.";
      return;
    }
    deviceState.textContent = "Turning alerts on…";
    const url = devices.dataset.devicesUrl;
    const registration = await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    const info = await (await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })).json();
    // A browser whose push service cannot be reached (offline, or blocked) never settles: give up after a while.
    const gaveUp = new Promise((resolve, reject) => setTimeout(
      () => reject(new Error("the browser's push service did not answer; is this device online?")), 30000));
    const subscription = await Promise.race([gaveUp, (async () => await registration.pushManager.getSubscription()
      || registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(info.application_server_key) }))()]);
    await postJSON(url, subscription.toJSON());
    deviceState.textContent = "On: this device gets alerts.";
    window.location.reload();
  }
  if (deviceButton) {
    deviceButton.addEventListener("click", () => {
      turnOnDeviceAlerts().catch((error) => { deviceState.textContent = `Alerts could not be turned on: ${error.message}`; });
    });
  }

  // A laptop waking up: reconnect now rather than after the backoff.
  window.addEventListener("online", () => { if (!socket) connect(); });

  connect();
})();
