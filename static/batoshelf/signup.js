// The sign-up form's time zone starts as the browser's (the page is seen logged out: shelf.js is not on it).
(() => {
  const select = document.querySelector("#signup-form select[name=time_zone]");
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (select && zone && [...select.options].some((o) => o.value === zone)) select.value = zone;
})();
