// Forms of a page saved without leaving it (htmx: hx-post, with hx-target/hx-select
// naming the section to replace): the rest of the page stays as it is, an unlocked key
// included (unlock.js). htmx swaps only successful answers by default; here a refused
// form (400, 409: the section comes back with its messages and what was typed) is
// swapped into its section too, and any other refusal (a session that ended, too many
// attempts, a server error) replaces the whole main content with the page that says so.
const FORM_ERRORS = new Set([400, 409]);

document.addEventListener("htmx:beforeSwap", (event) => {
  // "Saved" notices speak of the last save only: the section that comes back brings its
  // own, and the others' go.
  for (const notice of document.querySelectorAll("[data-saved-notice]")) { notice.remove(); }
  const status = event.detail.xhr.status;
  if (status < 400) { return; }
  event.detail.shouldSwap = true;
  event.detail.isError = false;
  if (!FORM_ERRORS.has(status)) {
    event.detail.target = document.getElementById("main");
    event.detail.selectOverride = "#main";
  }
});
