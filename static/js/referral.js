// Referrals (docs/crypto.md, "Referrals"). On a consultation page the sender's referral
// note is sealed here to every current key of the receiving organisation's advisers;
// only envelopes leave the page (the text area has no name), and the typed note stays
// until the server says the referral is saved. On an adviser's referral page the note
// sealed to their key is opened once the key is unlocked (unlock.js), and can be
// shared (re-sealed here) with colleagues who got their key after it was sent.
import { fromBase64, openJson, sealJson, toBase64 } from "./sealing.js";
import { appendEnvelopes, carry, onSubmit, postSealed, postShares, say } from "./posting.js";
import { currentKey, whenUnlocked } from "./unlock.js";

const PAD_TO = 256;
const MAX_TEXT = 8000;


function contextOf(referral, author, recipient) {
  return { v: 1, kind: "referral_note", referral, author, recipient };
}

// --- Sending (investigator, NGO worker) ------------------------------------------------

function refusalText(form, code) {
  const item = form.querySelector(`.referral-refusals [data-code="${code}"]`)
    || form.querySelector('.referral-refusals [data-code="failed"]');
  return item.textContent;
}

function keysOf(form, organisation) {
  return Array.from(form.querySelectorAll(".referral-keys [data-recipient]"))
    .filter((item) => item.dataset.organisation === organisation)
    .map((item) => ({ id: item.dataset.recipient, key: item.dataset.publicKey }));
}

function setKeys(form, organisation, keys) {
  const holder = form.querySelector(".referral-keys");
  for (const item of Array.from(holder.querySelectorAll("[data-recipient]"))) {
    if (item.dataset.organisation === organisation) { item.remove(); }
  }
  for (const key of keys) {
    const item = document.createElement("span");
    item.dataset.organisation = organisation;
    item.dataset.recipient = key.id;
    item.dataset.publicKey = key.key;
    holder.append(item);
  }
}

function showError(form, id, text) {
  const element = form.querySelector(`#${id}`);
  say(element, text);
  element.hidden = !text;
  element.closest(".field").classList.toggle("has-error", Boolean(text));
}

async function send(form) {
  const select = form.elements.namedItem("organisation_id");
  const area = form.querySelector("textarea");
  const status = form.querySelector(".referral-status-line");
  const button = form.querySelector("[data-send]");
  const organisation = select.value;
  const text = area.value.trim();
  // Every problem at once, each by its field.
  showError(form, "referral-organisation-error",
            organisation ? "" : refusalText(form, "choose_organisation"));
  showError(form, "referral-note-error",
            !text ? refusalText(form, "empty")
              : [...text].length > MAX_TEXT ? refusalText(form, "too_long") : "");
  say(status, "");
  if (!organisation || !text || [...text].length > MAX_TEXT) { return; }
  const keys = keysOf(form, organisation);
  if (!keys.length) { showError(form, "referral-organisation-error", refusalText(form, "no_advisers")); return; }
  const referral = form.dataset.referralId;
  const author = form.dataset.author;
  const time = Math.floor(Date.now() / 1000);
  const body = new FormData();
  body.append("csrf_token", form.elements.namedItem("csrf_token").value);
  body.append("referral_id", referral);
  body.append("organisation_id", organisation);
  appendEnvelopes(body, keys,
                  (recipient) => ({ ...contextOf(referral, author, recipient.id), time, text }),
                  PAD_TO);
  const { ok, answer } = await postSealed(form, body, button);
  if (ok && answer.saved) {
    area.value = "";
    say(status, form.dataset.sent);
    // The page again, with the referral's status and a fresh form.
    window.location.assign(`${window.location.pathname}?referred=1#referrals`);
    return;
  }
  if (answer.error === "ended") { carry(form, body); return; } // kept for the next sign-in
  // Refused: the note stays where it is, with the reason.
  if (Array.isArray(answer.keys)) { setKeys(form, organisation, answer.keys); }
  say(status, refusalText(form, answer.error || "failed"));
}

// The send button is disabled in the HTML until this module runs (the note has no name:
// without it nothing could be sealed). The section may come back into the page after a
// save elsewhere on it (htmx, static/js/swaps.js): one listener on the document serves
// every send form, and each new one is enabled as it arrives.
function enableSendForms() {
  for (const form of document.querySelectorAll("form[data-referral-form]")) {
    form.querySelector("[data-send]").disabled = false;
  }
}

enableSendForms();
document.addEventListener("htmx:afterSettle", enableSendForms);
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("form[data-referral-form]")) { return; }
  event.preventDefault();
  send(form);
});

// --- Reading and sharing (advisers) -----------------------------------------------------

function opened(section, key) {
  const body = section.querySelector(".referral-body[data-envelope]");
  return openJson(key, fromBase64(body.dataset.envelope),
                  contextOf(section.dataset.referral, section.dataset.author, section.dataset.reader));
}

function showNote(section, key) {
  const target = section.querySelector(".referral-text");
  try {
    const note = opened(section, key);
    if (typeof note.text !== "string") { throw new Error("no text"); }
    target.textContent = note.text; // never innerHTML
    target.hidden = false;
  } catch (error) {
    const warning = document.createElement("p");
    warning.className = "referral-unreadable";
    warning.textContent = section.dataset.cannotOpen;
    target.after(warning);
    return;
  }
  const share = section.querySelector("[data-share]");
  if (share) { share.disabled = false; }
}

for (const section of document.querySelectorAll("section[data-referral]")) {
  if (section.querySelector(".referral-body[data-envelope]")) {
    whenUnlocked((key) => showNote(section, key));
  }
}

async function share(form) {
  const section = form.closest("section[data-referral]");
  const status = form.querySelector(".share-status");
  const key = currentKey();
  if (!key) { say(status, form.dataset.locked); return; }
  let note;
  try {
    note = opened(section, key);
  } catch (error) {
    say(status, form.dataset.failed);
    return;
  }
  const body = new FormData();
  body.append("csrf_token", form.elements.namedItem("csrf_token").value);
  for (const item of form.querySelectorAll("[data-recipient]")) {
    const envelope = sealJson(fromBase64(item.dataset.publicKey),
                              { ...note, recipient: item.dataset.recipient }, { padTo: PAD_TO });
    body.append("shared", `${item.dataset.recipient}:${toBase64(envelope)}`);
  }
  await postShares(form, body, status);
}

onSubmit("form[data-referral-share]", share);
