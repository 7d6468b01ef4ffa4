// The reader's pages beyond notifications: search results that fill in as sources answer, shelf
// rows that follow what happens to their title (fetched, checked, read elsewhere), "Check now",
// and the offer to show times in the browser's time zone. Every piece of markup comes from the
// server, rendered by the template the page itself uses; this only swaps it in.
(function () {
  "use strict";

  const body = document.body;
  const toast = (text, href) => window.batoshelfToast && window.batoshelfToast(text, href);
  const post = (url, payload) => window.batoshelfPost(url, payload);

  // A page that answers a refused form shows the reason where the form is, not at the top.
  const refusal = document.querySelector(".errorlist");
  if (refusal) refusal.scrollIntoView({ block: "center" });

  // A form that undoes something asks first (data-confirm: the question).
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // "Copy" beside an address to hand on (an invite, the private feed): the clipboard where the browser
  // allows it (https or this machine), else the address selected for the reader to copy.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const field = button.closest(".copyable").querySelector("input");
    try {
      await navigator.clipboard.writeText(field.value);
      toast("Copied.", null);
    } catch (error) {
      field.focus();
      field.select();
      toast("Selected: copy it with your device's copy.", null);
    }
  });

  // Typing the chapter you are at picks "at chapter" (the box sits in that choice's label).
  document.addEventListener("input", (event) => {
    if (!event.target.matches(".add-form input[name=number]")) return;
    const choice = event.target.closest("label")?.querySelector("input[type=radio]");
    if (choice && event.target.value.trim()) choice.checked = true;
  });

  async function getHTML(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    return template.content;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

  // Search: while a source has not answered, ask again for what is there; then, while covers are
  // being fetched, swap each one in as it comes (only the cover: a form being filled in stays as it is).
  const results = document.getElementById("search-results");
  const POLL_EVERY_MS = 1500;
  const POLL_TRIES = 40;
  function swapCovers(fresh) {
    results.querySelectorAll("li.result [data-pending=cover]").forEach((placeholder) => {
      const reference = placeholder.closest("li.result").dataset.reference;
      const row = [...fresh.querySelectorAll("li.result")].find((r) => r.dataset.reference === reference);
      const cover = row?.querySelector(".cover");
      if (cover && !cover.dataset.pending) placeholder.replaceWith(cover);
    });
  }
  async function pollSearch() {
    for (let i = 0; i < POLL_TRIES && results.querySelector("[data-pending]"); i++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
      try {
        const fragment = await getHTML(results.dataset.pollUrl);
        const fresh = fragment.querySelector("#search-results") || fragment;
        if (results.querySelector(".search-answer[data-pending]")) results.replaceChildren(...fresh.childNodes);
        else swapCovers(fresh);
      } catch (error) {
        // try again at the next turn
      }
    }
    const still = results.querySelector(".searching");
    if (still && results.querySelector("[data-pending]")) still.textContent = "The sources are slow to answer; search again in a moment.";
  }
  if (results && results.dataset.pollUrl) pollSearch();

  // Shelf rows: swap in the server's row when its title changes.
  async function refreshRow(titleId) {
    const shelf = document.getElementById("shelf");
    if (!shelf) return;
    let fragment;
    try {
      fragment = await getHTML(`/shelf/rows/${titleId}/`);
    } catch (error) {
      return;  // off the shelf now, or the server is busy: the next reload shows it
    }
    const row = fragment.querySelector("li.shelf-row");
    const old = document.getElementById(`title-${titleId}`);
    if (old && row) {
      const open = old.querySelector("details.row-menu")?.open;
      old.replaceWith(row);
      if (open) row.querySelector("details.row-menu").open = true;
    } else if (row) {
      shelf.prepend(row);
      document.getElementById("empty-shelf")?.remove();
    }
  }

  document.addEventListener("batoshelf:message", (event) => {
    const data = event.detail;
    if (data.type === "shelf") {
      refreshRow(data.title_id);
      if (data.state === "failed") toast("A title could not be fetched: its row says why.", null);
    } else if (data.type === "notification" && data.notification.title_id) {
      if (document.getElementById(`title-${data.notification.title_id}`)) refreshRow(data.notification.title_id);
    }
  });

  // "Check now": the row follows the title's schedule until the check has run, then shows what it found.
  const CHECK_FOLLOW_EVERY_MS = 3000;
  const CHECK_FOLLOW_TRIES = 60;
  async function followCheck(titleId, checkedBefore, name) {
    for (let i = 0; i < CHECK_FOLLOW_TRIES; i++) {
      await new Promise((resolve) => setTimeout(resolve, CHECK_FOLLOW_EVERY_MS));
      let schedule;
      try {
        schedule = await getJSON(`/api/titles/${titleId}/schedule`);
      } catch (error) {
        continue;
      }
      if (schedule.last_checked_at && schedule.last_checked_at !== checkedBefore) {
        await refreshRow(titleId);
        const outcome = schedule.failures ? "it failed; the next check tries again" : schedule.misses === 0 ? "new chapters found" : "nothing new";
        toast(`Checked ${name}: ${outcome}.`, null);
        return;
      }
    }
    toast(`The check of ${name} has not run yet (its source is busy); its row updates when it does.`, null);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.check-now");
    if (!button) return;
    const row = button.closest("li.shelf-row");
    const name = row?.querySelector(".row-name")?.textContent.trim() || "the title";
    button.disabled = true;
    try {
      const before = await getJSON(`/api/titles/${button.dataset.titleId}/schedule`);
      const data = await post(`/api/titles/${button.dataset.titleId}/check`);
      toast(data.detail, null);
      // Nothing to follow when the check asked for a moment ago has already run, or checks are paused.
      if (!data.coming) return;
      const checks = row?.querySelector(".last-check");
      if (checks) checks.textContent = "check asked for: waiting for its turn";
      await followCheck(button.dataset.titleId, before.last_checked_at, name);
    } catch (error) {
      toast(`No check queued: ${error.message}`, null);
    } finally {
      button.disabled = false;
    }
  });

  // Times: offered once, on a page, when the browser's time zone is not the one saved.
  const offer = document.getElementById("time-zone-offer");
  const browserZone = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return ""; } })();
  if (offer && browserZone && body.dataset.timeZone && !body.dataset.timeZoneAsked && browserZone !== body.dataset.timeZone) {
    document.getElementById("time-zone-saved").textContent = body.dataset.timeZone;
    document.getElementById("time-zone-browser").textContent = browserZone;
    offer.hidden = false;
    const answer = async (payload) => {
      try {
        await post("/api/me/time-zone", payload);
        offer.hidden = true;
        if (payload.time_zone) location.reload();
      } catch (error) {
        toast(`Could not save it: ${error.message}`, null);
      }
    };
    document.getElementById("time-zone-use").addEventListener("click", () => answer({ time_zone: browserZone }));
    document.getElementById("time-zone-keep").addEventListener("click", () => answer({ keep: true }));
  }
})();
