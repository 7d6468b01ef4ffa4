// A library import's page follows the import as it goes: the bar moves with each progress event on
// the socket (notifications.js), and the page reloads when the import reaches its next step.
(() => {
  const page = document.getElementById("library-import");
  if (!page) return;
  const id = Number(page.dataset.importId);
  const bar = document.getElementById("import-progress");
  const words = document.getElementById("import-progress-words");

  function show(state, done, total) {
    if (state !== page.dataset.state) {
      location.reload();
      return;
    }
    if (bar) { bar.max = Math.max(total, 1); bar.value = done; }
    if (words) words.textContent = words.textContent.replace(/\d+ of \d+/, `${done} of ${total}`);
  }

  document.addEventListener("batoshelf:message", (event) => {
    const data = event.detail;
    if (data.type === "import" && data.import_id === id) show(data.state, data.done, data.total);
  });

  // While the socket is down (or before it is up), ask now and then.
  if (bar) {
    setInterval(async () => {
      try {
        const response = await fetch(`/api/imports/${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) { const data = await response.json(); show(data.state, data.done, data.total); }
      } catch (error) { /* the next try */ }
    }, 10000);
  }
})();
