// Seals a prepared note in this browser before it is sent (DESIGN.md section 5).
// Only the envelope travels: the text areas lose their names, so the browser does not
// post them. Without JavaScript the same form posts the text and the server seals it.
//
// One listener on the document, in the capture phase: it sees every sealing form's
// submit first, also forms put into the page later (htmx swaps), and before htmx, which
// sends a form with hx-post from its own listener on the form. A form is let through
// only once sealed (or, if optional, with nothing to seal and its text areas unnamed).
import { fromBase64, sealJson, toBase64 } from "./sealing.js";

const released = new WeakSet();

// Send the form on: htmx (a form with hx-post) through a submit event of our own, which
// this listener lets through; the browser otherwise (submit() fires no event).
function release(form) {
  if (form.hasAttribute("hx-post")) {
    released.add(form);
    form.dispatchEvent(new SubmitEvent("submit", { bubbles: true, cancelable: true }));
  } else {
    form.submit();
  }
}

function seal(form) {
  const areas = Array.from(form.querySelectorAll("textarea"));
  const status = form.querySelector(".seal-status");
  if (!areas.some((area) => area.value.trim())) {
    if (form.hasAttribute("data-optional")) { // nothing to seal: send the rest
      for (const area of areas) { area.removeAttribute("name"); }
      release(form);
      return;
    }
    status.textContent = form.dataset.empty;
    return;
  }
  // The context is sealed inside: the investigator's browser checks it on opening.
  const message = {
    v: 1,
    consultation: form.dataset.consultation,
    kind: form.dataset.kind,
    author: form.dataset.author,
    time: Math.floor(Date.now() / 1000),
  };
  for (const area of areas) { message[area.name] = area.value.trim(); }
  form.elements.namedItem("envelope").value = toBase64(sealJson(fromBase64(form.dataset.sealTo), message));
  for (const area of areas) { area.removeAttribute("name"); }
  release(form);
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("form[data-seal-to]")) { return; }
  if (released.delete(form)) { return; } // sealed just now: let it go
  event.preventDefault();
  event.stopPropagation(); // htmx never sees the unsealed form
  seal(form);
}, true);
