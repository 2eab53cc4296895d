// Quick exit. The quick-exit button is a form that works without this script (it ends
// the session, then lands on /bye). With it, the button and the Esc key send the same form
// in the background and leave at once: replace() keeps this page out of the back-button
// history, and the person lands on /bye even if the session had already ended.
// An ES module like the other scripts here: strict, and nothing it declares is global.
let leaving = false;

function leave() {
  if (leaving) { return; }
  leaving = true;
  window.location.replace("/bye");
}

function quickExit(form) {
  // Wait for the session to end (a copied cookie dies with it), but never for long.
  window.setTimeout(leave, 400);
  try {
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      redirect: "manual",
      keepalive: true,
    }).then(leave, leave);
  } catch (error) {
    leave();
  }
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") { return; }
  const form = document.querySelector("form[data-quick-exit]");
  if (form) { quickExit(form); }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("form[data-quick-exit]")) { return; }
  event.preventDefault();
  quickExit(form);
});

// Print buttons exist only with JavaScript; without it the browser's own print works.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => { window.print(); });
}

// A refused choice on the booking form: once the person picks another answer, the
// refusal beside it no longer describes it (the form's live refresh replaces only its
// list of times, so the refusal would otherwise stay red until the next full page).
// Only there: other forms' scripts write their own refusals into these elements.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.value) { return; }
  const field = select.closest(".booking-form .field.has-error");
  if (!field) { return; }
  field.classList.remove("has-error");
  field.querySelector(".error")?.remove();
  select.removeAttribute("aria-invalid");
  select.removeAttribute("aria-describedby");
});
