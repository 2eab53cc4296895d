// What only an investigator does with their key, in this browser only: read the notes
// once the key is unlocked (unlock.js), and re-seal notes for a new investigator. The
// key itself is made and re-wrapped on the key page (keys.js). No private key is ever
// stored or sent anywhere.
import { fromBase64, openJson, sealJson, toBase64 } from "./sealing.js";
import "./notes.js"; // the outcome and identity forms seal like any note form
import "./swaps.js"; // they are saved without leaving the page: the key stays unlocked
import { currentKey, whenUnlocked } from "./unlock.js";

function say(element, text) { element.textContent = text; }

// --- Read the notes once the key is unlocked -------------------------------------------

function showNotes(key, consultation) {
  const list = document.querySelector(".note-list");
  for (const item of document.querySelectorAll(".note[data-readable=yes]:not([data-opened])")) {
    item.dataset.opened = "yes";
    const body = item.querySelector(".note-body");
    try {
      const note = openJson(key, fromBase64(item.dataset.envelope),
                            { v: 1, consultation, kind: item.dataset.kind, author: item.dataset.author });
      for (const section of body.querySelectorAll("[data-section]")) {
        const text = note[section.dataset.section];
        if (typeof text === "string" && text) {
          section.querySelector(".note-text").textContent = text; // never innerHTML
          section.hidden = false;
        }
      }
      body.hidden = false;
    } catch (error) {
      const warning = document.createElement("p");
      warning.className = "note-unreadable";
      warning.textContent = list.dataset.cannotOpen;
      item.append(warning);
    }
  }
}

function openNotes(key) {
  const list = document.querySelector("[data-consultation] .note-list");
  if (list) { showNotes(key, list.closest("[data-consultation]").dataset.consultation); }
}

whenUnlocked(openNotes);
// A saved form brought new notes into the page (an outcome note): open them with the
// key this page already holds.
document.addEventListener("htmx:afterSettle", () => {
  const key = currentKey();
  if (key) { openNotes(key); }
});

// --- Re-seal for a new investigator --------------------------------------------------

for (const form of document.querySelectorAll("form[data-reseal]")) {
  form.addEventListener("submit", (event) => {
    const field = form.elements.namedItem("resealed");
    if (field.value) { return; }
    event.preventDefault();
    const panel = document.querySelector("[data-unlock]");
    const secretKey = currentKey();
    if (!secretKey) {
      say(panel.querySelector(".unlock-status"), panel.dataset.wrong);
      return;
    }
    const target = fromBase64(form.dataset.targetKey);
    const resealed = {};
    for (const item of form.querySelectorAll("[data-note-id]")) {
      try {
        const note = openJson(secretKey, fromBase64(item.dataset.envelope),
                              { v: 1, consultation: form.dataset.consultation, kind: item.dataset.kind });
        resealed[item.dataset.noteId] = toBase64(sealJson(target, note));
      } catch (error) {
        // A note this key cannot open stays as it is; the new investigator sees it as
        // unreadable and the support organisation is asked to prepare it again.
      }
    }
    field.value = JSON.stringify(resealed);
    form.submit();
  });
}
