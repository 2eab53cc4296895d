// The investigator's key, in this browser only: create it, change or recover its
// passphrase, read notes once it is unlocked (unlock.js), and re-seal notes for a new
// investigator. No private key is ever stored or sent anywhere.
import {
  fingerprint, fromBase64, isUsablePublicKey, newKeyPair, newRecoveryKey, normaliseRecoveryKey,
  openJson, sealJson, toBase64, unwrapSecretKey, wrapSecretKey,
} from "./sealing.js";
import "./notes.js"; // the outcome and identity forms seal like any note form
import { currentKey, whenUnlocked } from "./unlock.js";

function progressOf(container) {
  const bar = container.querySelector("progress");
  return (fraction) => { bar.hidden = false; bar.value = fraction; };
}

function say(element, text) { element.textContent = text; }

// --- Read the notes once the key is unlocked -------------------------------------------

function showNotes(key, consultation) {
  const list = document.querySelector(".note-list");
  for (const item of document.querySelectorAll(".note[data-readable=yes]")) {
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

const notesSection = document.querySelector("[data-consultation] .note-list");
if (notesSection) {
  whenUnlocked((key) => showNotes(key, notesSection.closest("[data-consultation]").dataset.consultation));
}

// --- Create, change and recover ------------------------------------------------------

function newPassphrase(form, status) {
  const chosen = form.querySelector("[data-new]").value;
  if (chosen.length < 12) { say(status, status.dataset.short); return null; }
  if (chosen !== form.querySelector("[data-confirm]").value) {
    say(status, status.dataset.mismatch);
    return null;
  }
  return chosen;
}

// The passphrases, once used. Not the password and code that confirm it is you
// (data-reauth): the server checks those with the form.
function forget(form) {
  for (const field of form.querySelectorAll("input[type=password]:not([data-reauth]), input[data-old]")) {
    field.value = "";
  }
}

const create = document.querySelector("form[data-create-key]");
if (create) {
  const status = create.querySelector(".key-status");
  const sheet = create.querySelector(".recovery-sheet");
  const generate = create.querySelector("[data-generate]");
  generate.disabled = false; // disabled in the HTML until this script is ready
  generate.addEventListener("click", async (event) => {
    const passphrase = newPassphrase(create, status);
    if (!passphrase) { return; }
    event.target.disabled = true;
    say(status, status.dataset.working);
    const pair = newKeyPair();
    // Never with a working random generator; the server refuses such a key as well.
    if (!isUsablePublicKey(pair.publicKey)) throw new Error("the new key pair is not usable");
    const recovery = newRecoveryKey();
    const progress = progressOf(create);
    const wrapped = await wrapSecretKey(pair.secretKey, passphrase, {}, (f) => progress(f / 2));
    const rescue = await wrapSecretKey(pair.secretKey, normaliseRecoveryKey(recovery), {},
                                       (f) => progress(0.5 + f / 2));
    pair.secretKey.fill(0);
    forget(create);
    create.elements.namedItem("public_key").value = toBase64(pair.publicKey);
    create.elements.namedItem("wrapped_key").value = toBase64(wrapped);
    create.elements.namedItem("recovery_wrapped_key").value = toBase64(rescue);
    say(status, "");
    sheet.querySelector("[data-recovery-key]").textContent = recovery;
    sheet.querySelector("[data-fingerprint]").textContent = fingerprint(pair.publicKey);
    sheet.hidden = false;
    sheet.querySelector("[data-print]").hidden = false;
    sheet.querySelector("h2").scrollIntoView();
  });
  const confirm = create.querySelector("[data-confirm-saved]");
  confirm.addEventListener("change", () => {
    create.querySelector("[data-save]").disabled = !confirm.checked;
  });
}

for (const form of document.querySelectorAll("form[data-change-passphrase], form[data-recover]")) {
  form.addEventListener("submit", async (event) => {
    const wrappedField = form.elements.namedItem("wrapped_key");
    if (wrappedField.value) { return; }
    event.preventDefault();
    const status = form.querySelector(".key-status");
    const passphrase = newPassphrase(form, status);
    if (!passphrase) { return; }
    let old = form.querySelector("[data-old]").value;
    if (form.hasAttribute("data-recover")) { old = normaliseRecoveryKey(old); }
    say(status, status.dataset.working);
    const progress = progressOf(form);
    let key;
    try {
      key = await unwrapSecretKey(fromBase64(form.dataset.wrappedKey), old,
                                  fromBase64(form.dataset.publicKey), (f) => progress(f / 2));
    } catch (error) {
      say(status, status.dataset.wrong);
      return;
    }
    wrappedField.value = toBase64(await wrapSecretKey(key, passphrase, {},
                                                      (f) => progress(0.5 + f / 2)));
    key.fill(0);
    forget(form);
    form.submit();
  });
}

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
