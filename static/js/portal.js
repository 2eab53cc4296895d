// Quick exit. The quick-exit button is a form that works without this script (it ends
// the session, then lands on /bye). With it, the button and the Esc key send the same form
// in the background and leave at once: replace() keeps this page out of the back-button
// history, and the person lands on /bye even if the session had already ended.
"use strict";
var leaving = false;
function quickExit(form) {
  var leave = function () {
    if (leaving) { return; }
    leaving = true;
    window.location.replace("/bye");
  };
  // Wait for the session to end (a copied cookie dies with it), but never for long.
  window.setTimeout(leave, 400);
  try {
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      redirect: "manual",
      keepalive: true
    }).then(leave, leave);
  } catch (error) {
    leave();
  }
}
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  var form = document.querySelector("form[data-quick-exit]");
  if (form) { quickExit(form); }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-quick-exit]")) { return; }
  event.preventDefault();
  quickExit(form);
});
// Print buttons exist only with JavaScript; without it the browser's own print works.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
