// Live notifications on every page of a logged-in user: the unread badge, a
// toast for each new one, new rows on the notifications page, and mark-read
// without a reload. The server is the record; this only shows it.
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

  // Every row's button submits the page's one mark-read form (without JavaScript too).
  function markReadButton(id) {
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "mark-read";
    button.setAttribute("form", "mark-read-form");
    button.formAction = `/notifications/${id}/read`;
    button.dataset.notificationId = String(id);
    button.textContent = "Mark read";
    return button;
  }

  // Built with textContent only: a title's name is its source's text, not ours. The same markup
  // as group_html in notifications/views.py, so a live row and a reloaded one look alike.
  function notificationRow(n) {
    const row = document.createElement("li");
    row.className = `notification importance-${n.importance}` + (n.is_read ? "" : " unread") + " just-arrived";
    row.dataset.notificationId = String(n.id);
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = n.kind_display;
    const text = document.createElement(n.chapter_url ? "a" : "span");
    text.textContent = n.message;
    if (n.chapter_url) {
      text.href = n.chapter_url;
      text.rel = "noopener noreferrer";
      text.target = "_blank";
    }
    row.append(kind, " ", text, " ");
    if (n.chapter_external) {
      const external = document.createElement("span");
      external.className = "status";
      external.textContent = "external";
      row.append(external, " ");
    }
    row.append(timeOf(n.created_at));
    if (!n.is_read) row.append(" ", markReadButton(n.id));
    return row;
  }

  function timeOf(isoTime) {
    const time = document.createElement("time");
    time.dateTime = isoTime;
    time.textContent = isoTime.slice(0, 16).replace("T", " ");
    return time;
  }

  // One check's notifications for one title share a group, as on the page the server renders.
  function groupFor(n) {
    const newest = list.querySelector(":scope > li.group");
    const titleId = String(n.title_id ?? "");  // staff alerts about a whole source have no title
    if (newest && newest.dataset.titleId === titleId && newest.dataset.createdAt === n.created_at) {
      return newest;
    }
    const group = document.createElement("li");
    group.className = "group";
    group.dataset.titleId = titleId;
    group.dataset.createdAt = n.created_at;
    group.append(document.createElement("ul"));
    list.prepend(group);
    return group;
  }

  function showOnPage(n) {
    if (!list || list.dataset.live !== "1") return;
    document.getElementById("no-notifications")?.remove();
    const group = groupFor(n);
    const rows = group.querySelector("ul");
    // Newest first, as the server orders them: before the first row with a smaller id.
    const after = [...rows.children].find((row) => Number(row.dataset.notificationId) < n.id);
    rows.insertBefore(notificationRow(n), after || null);
    if (!n.is_read) group.classList.add("unread");
    const count = rows.children.length;
    if (count > 1) {
      let head = group.querySelector(".group-head");
      if (!head) {
        head = document.createElement("div");
        head.className = "group-head";
        group.prepend(head);
      }
      const name = document.createElement("strong");
      name.textContent = n.title_name;
      head.replaceChildren(name, `: ${count} notifications from one check `, timeOf(n.created_at));
    }
  }

  function receive(n, { announce }) {
    if (seen.has(n.id)) return;  // delivered twice (relay and backlog): show once
    seen.add(n.id);
    lastSeenId = Math.max(lastSeenId, n.id);
    showOnPage(n);
    if (announce) toast(n.message, n.chapter_url || "/notifications/");
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
      data.notifications.forEach((n) => receive(n, { announce: false }));
      const count = data.notifications.filter((n) => !n.is_read).length;
      if (count) toast(`${count} new notification${count === 1 ? "" : "s"} while you were away`, "/notifications/");
      if (data.more_missed && list) toast("More arrived than fit here: reload to see them all", null);
    } else if (data.type === "notification") {
      receive(data.notification, { announce: true });
      setBadge(data.unread_count);
      desktopAlert(data.notification);
    } else if (data.type === "read") {
      showRead(data.ids);
      setBadge(data.unread_count);
    }
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
      if (event.code === 4400) return;  // the server said our request is wrong; retrying will not help
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

  async function postJSON(url) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, "Accept": "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

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
        document.querySelectorAll("li.notification.unread").forEach((row) => showRead([Number(row.dataset.notificationId)]));
        setBadge(data.unread_count);
      } catch (error) {
        toast(`Could not mark them read: ${error.message}`, null);
      }
    }
  });

  // After "Check now" the shelf row follows the title's schedule until the check has run.
  const CHECK_FOLLOW_EVERY_MS = 3000;
  const CHECK_FOLLOW_TRIES = 60;

  async function followCheck(row, checkedBefore) {
    const lastCheck = row.querySelector("td.last-check");
    const nextCheck = row.querySelector("td.next-check");
    const name = row.querySelector("td a").textContent;
    lastCheck.textContent = "asked: waiting for its turn";
    for (let i = 0; i < CHECK_FOLLOW_TRIES; i++) {
      await new Promise((resolve) => setTimeout(resolve, CHECK_FOLLOW_EVERY_MS));
      let schedule;
      try {
        schedule = await getJSON(`/api/titles/${row.dataset.titleId}/schedule`);
      } catch (error) {
        continue;
      }
      if (schedule.last_checked_at && schedule.last_checked_at !== checkedBefore) {
        lastCheck.textContent = `just now (${schedule.last_checked_at.slice(11, 16)} UTC)`;
        nextCheck.textContent = schedule.paused ? "paused" : schedule.next_check_at.slice(0, 16).replace("T", " ");
        nextCheck.title = schedule.reason;
        const outcome = schedule.failures ? `it failed (${schedule.reason})`
          : schedule.misses === 0 ? "new chapters found" : "nothing new";
        toast(`Checked ${name}: ${outcome}.`, null);
        return;
      }
    }
    lastCheck.textContent = "asked: not run yet (the source is busy); reload later";
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.check-now");
    if (!button) return;
    const row = button.closest("tr");
    button.disabled = true;
    try {
      const before = await getJSON(`/api/titles/${button.dataset.titleId}/schedule`);
      const data = await postJSON(`/api/titles/${button.dataset.titleId}/check`);
      toast(data.detail, null);
      if (row) await followCheck(row, before.last_checked_at);
    } catch (error) {
      toast(`No check queued: ${error.message}`, null);
    } finally {
      button.disabled = false;
    }
  });

  // The settings page's button asks for permission: a click, never a page load, may ask.
  const alertsButton = document.getElementById("desktop-alerts");
  const alertsState = document.getElementById("desktop-alerts-state");
  function showAlertsState() {
    if (!alertsState) return;
    if (!("Notification" in window)) alertsState.textContent = "This browser cannot show them.";
    else alertsState.textContent = { granted: "Allowed.", denied: "Blocked in this browser's settings.", default: "" }[window.Notification.permission] || "";
  }
  if (alertsButton) {
    showAlertsState();
    alertsButton.addEventListener("click", async () => {
      if ("Notification" in window) await window.Notification.requestPermission();
      showAlertsState();
    });
  }

  // A laptop waking up: reconnect now rather than after the backoff.
  window.addEventListener("online", () => { if (!socket) connect(); });

  connect();
})();
