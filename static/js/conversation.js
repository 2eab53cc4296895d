// The conversation of a consultation (contract "Messages", docs/crypto.md). Staff open
// the messages sealed to their key once it is unlocked (unlock.js) and seal new ones
// to every recipient; a client with JavaScript seals here too (the server opens the
// client's messages for their page). Only envelopes leave this page: the text area
// has no name on staff pages, and loses it before a client's form is posted.
// The typed text stays in the page until the server says the message is saved.
import { fromBase64, openJson, sealJson, toBase64 } from "./sealing.js";
import "./notes.js"; // the NGO page's prepared-note form
import { appendEnvelopes, carry, onSubmit, postSealed, postShares, say } from "./posting.js";
import { currentKey, whenUnlocked } from "./unlock.js";

const PAD_TO = 256;
const MAX_TEXT = 4000;


function refusalText(form, code) {
  const item = form.querySelector(`.message-refusals [data-code="${code}"]`)
    || form.querySelector('.message-refusals [data-code="failed"]');
  return item.textContent;
}

function recipientsOf(form) {
  return Array.from(form.querySelectorAll("[data-recipient]"),
                    (item) => ({ id: item.dataset.recipient, key: item.dataset.publicKey }));
}

function setRecipients(form, recipients) {
  const holder = form.querySelector(".recipients");
  holder.replaceChildren(...recipients.map((recipient) => {
    const item = document.createElement("span");
    item.dataset.recipient = recipient.id;
    item.dataset.publicKey = recipient.key;
    return item;
  }));
}

function contextOf(consultation, message, author, recipient) {
  return { v: 1, consultation, message, author, recipient };
}

function setMessageId(form, id) {
  form.dataset.messageId = id;
  form.elements.namedItem("message_id").value = id;
}

// --- Reading (staff) -----------------------------------------------------------------

function showMessages(section, key) {
  const reader = section.querySelector(".message-list").dataset.reader;
  for (const item of section.querySelectorAll(".message[data-envelope]")) {
    const target = item.querySelector(".message-text");
    if (!target.hidden) { continue; }
    try {
      const opened = openJson(key, fromBase64(item.dataset.envelope),
                              contextOf(section.dataset.conversation, item.dataset.messageId,
                                        item.dataset.author, reader));
      if (typeof opened.text !== "string") { throw new Error("no text"); }
      target.textContent = opened.text; // never innerHTML
      target.hidden = false;
    } catch (error) {
      const warning = document.createElement("p");
      warning.className = "message-unreadable";
      warning.textContent = section.dataset.cannotOpen;
      item.append(warning);
      item.removeAttribute("data-envelope");
    }
  }
  const share = section.querySelector("[data-share]");
  if (share) { share.disabled = false; }
}

for (const section of document.querySelectorAll("[data-conversation]")) {
  whenUnlocked((key) => showMessages(section, key));
}

// --- Writing (staff and clients) -------------------------------------------------------

// The message just sent, at the end of the list as a reload would show it: when (in
// the portal's time zone, as the server shows times), and that it is this person's.
function appendSent(form, text) {
  const list = form.parentElement.querySelector(".message-list");
  if (!list) { return; }
  list.querySelector(".message-none")?.remove();
  const item = document.createElement("li");
  item.className = "message";
  const meta = document.createElement("p");
  meta.className = "message-meta";
  const when = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
    { dateStyle: "short", timeStyle: "short", timeZone: form.dataset.timeZone })
    .format(new Date());
  meta.textContent = `${when} · ${form.dataset.you}`;
  const body = document.createElement("p");
  body.className = "message-text";
  body.textContent = text;
  item.append(meta, body);
  list.append(item);
}

async function send(form) {
  const area = form.querySelector("textarea");
  const status = form.querySelector(".message-status");
  const button = form.querySelector("[data-send]");
  const text = area.value.trim();
  if (!text) { say(status, refusalText(form, "empty")); return; }
  if ([...text].length > MAX_TEXT) { say(status, refusalText(form, "too_long")); return; }
  const consultation = form.dataset.consultation;
  const author = form.dataset.author;
  const message = form.dataset.messageId;
  const time = Math.floor(Date.now() / 1000);
  const body = new FormData();
  body.append("csrf_token", form.elements.namedItem("csrf_token").value);
  body.append("message_id", message);
  appendEnvelopes(
    body, recipientsOf(form),
    (recipient) => ({ ...contextOf(consultation, message, author, recipient.id), time, text }),
    PAD_TO);
  say(status, "");
  // "Your message was sent." is about the message before this one.
  form.closest("section")?.querySelector(":scope > .notice[role=status]")?.remove();
  const { ok, answer } = await postSealed(form, body, button);
  if (ok && answer.saved) {
    if (form.querySelector("textarea[name]")) { // the client's page: show it as the server does
      window.location.assign(`${window.location.pathname}?sent=1#messages`);
      return;
    }
    appendSent(form, text);
    say(status, form.dataset.sent);
    area.value = "";
    if (typeof answer.next === "string") { setMessageId(form, answer.next); }
    return;
  }
  if (answer.error === "ended") { carry(form, body); return; } // kept for the next sign-in
  // Refused: the text stays where it is, with the reason.
  if (Array.isArray(answer.recipients)) { setRecipients(form, answer.recipients); }
  if (typeof answer.next === "string") { setMessageId(form, answer.next); }
  say(status, refusalText(form, answer.error || "failed"));
}

// The client's page says the server seals what a browser without JavaScript sends;
// here it is sealed in this browser instead.
for (const hint of document.querySelectorAll("[data-without-javascript]")) { hint.hidden = true; }

for (const form of document.querySelectorAll("form[data-message-form]")) {
  const button = form.querySelector("[data-send]");
  button.disabled = false; // disabled in the HTML on staff pages until this script is ready
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form);
  });
}

// --- Sharing earlier messages (staff) --------------------------------------------------

async function share(form) {
  const section = form.closest("[data-conversation]");
  const status = form.querySelector(".share-status");
  const key = currentKey();
  if (!key) { say(status, form.dataset.locked); return; }
  const reader = section.querySelector(".message-list").dataset.reader;
  const recipients = new Map(recipientsOf(section.querySelector("form[data-message-form]"))
    .map((recipient) => [recipient.id, recipient.key]));
  const body = new FormData();
  body.append("csrf_token", form.elements.namedItem("csrf_token").value);
  let count = 0;
  for (const item of section.querySelectorAll(".message[data-envelope]")) {
    const missing = item.dataset.missing.split(" ").filter((id) => recipients.has(id));
    if (!missing.length) { continue; }
    let opened;
    try {
      opened = openJson(key, fromBase64(item.dataset.envelope),
                        contextOf(section.dataset.conversation, item.dataset.messageId,
                                  item.dataset.author, reader));
    } catch (error) {
      continue; // not ours to share: it stays unreadable for them
    }
    for (const target of missing) {
      const envelope = sealJson(fromBase64(recipients.get(target)),
                                { ...opened, recipient: target }, { padTo: PAD_TO });
      body.append("shared", `${item.dataset.messageId}:${target}:${toBase64(envelope)}`);
      count += 1;
    }
  }
  if (!count) { say(status, form.dataset.failed); return; }
  await postShares(form, body, status);
}

onSubmit("form[data-share-form]", share);
