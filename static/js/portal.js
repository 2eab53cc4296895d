// Quick exit with the Esc key. The quick-exit link works without this script; with it,
// Esc leaves at once and replace() keeps this page out of the back-button history.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  var exit = document.querySelector("[data-quick-exit]");
  if (exit) { window.location.replace(exit.getAttribute("href")); }
});
document.addEventListener("click", function (event) {
  var exit = event.target.closest && event.target.closest("[data-quick-exit]");
  if (!exit) { return; }
  event.preventDefault();
  window.location.replace(exit.getAttribute("href"));
});
// Print buttons exist only with JavaScript; without it the browser's own print works.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
