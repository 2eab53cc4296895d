// Seals a prepared note in this browser before it is sent (DESIGN.md section 5).
// Only the envelope travels: the text areas lose their names, so the browser does not
// post them. Without JavaScript the same form posts the text and the server seals it.
import { fromBase64, sealJson, toBase64 } from "./sealing.js";

for (const form of document.querySelectorAll("form[data-seal-to]")) {
  form.addEventListener("submit", (event) => {
    const envelope = form.elements.namedItem("envelope");
    if (envelope.value) { return; } // sealed already: let it go
    event.preventDefault();
    const areas = Array.from(form.querySelectorAll("textarea"));
    const status = form.querySelector(".seal-status");
    if (!areas.some((area) => area.value.trim())) {
      if (form.hasAttribute("data-optional")) { // nothing to seal: send the rest
        for (const area of areas) { area.removeAttribute("name"); }
        form.submit();
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
    envelope.value = toBase64(sealJson(fromBase64(form.dataset.sealTo), message));
    for (const area of areas) { area.removeAttribute("name"); }
    form.submit();
  });
}
