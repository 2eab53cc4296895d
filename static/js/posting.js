// Posting what this page sealed, with fetch, and saying how it went: the conversation's
// messages and shares (conversation.js), the referrals and their shares (referral.js).
// The answer is JSON ({code} on a refusal), read with the response's status.
import { fromBase64, sealJson, toBase64 } from "./sealing.js";

export function say(element, text) { element.textContent = text; }

export async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
  });
  let answer = {};
  try { answer = await response.json(); } catch { answer = {}; }
  return { ok: response.ok, answer };
}

// One "envelope" field a recipient ({id, key}): ``fields(recipient)`` sealed to their key,
// padded to a multiple of ``padTo`` bytes, as "<key id>:<base64>".
export function appendEnvelopes(body, recipients, fields, padTo) {
  for (const recipient of recipients) {
    const envelope = sealJson(fromBase64(recipient.key), fields(recipient), { padTo });
    body.append("envelope", `${recipient.id}:${toBase64(envelope)}`);
  }
}

// Post a send form's sealed ``body`` with its ``button`` disabled meanwhile (a double
// click sends once); a failed request answers as the refusal "failed".
export async function postSealed(form, body, button) {
  button.disabled = true;
  try {
    return await post(form.action, body);
  } catch (error) {
    return { ok: false, answer: { error: "failed" } };
  } finally {
    button.disabled = false;
  }
}

// Post the envelopes a share form sealed for newcomers; once saved, its button is done.
export async function postShares(form, body, status) {
  let result;
  try {
    result = await post(form.action, body);
  } catch (error) {
    result = { ok: false, answer: {} };
  }
  if (result.ok) {
    say(status, form.dataset.done);
    form.querySelector("[data-share]").disabled = true;
  } else {
    say(status, form.dataset.failed);
  }
}

// The session ended while the page was open (the answer "ended"): the sealed ``body``
// goes the way the form goes without JavaScript, so that the page saying so keeps it
// (web/kept.py) and offers it again after signing in or entering the code. Only the
// envelopes travel: the text itself never leaves this page.
export function carry(form, body) {
  const carrier = document.createElement("form");
  carrier.method = "post";
  carrier.action = form.action;
  carrier.hidden = true;
  const language = form.elements.namedItem("page_lang");
  if (language) { body.append("page_lang", language.value); }
  for (const [name, value] of body) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    carrier.append(input);
  }
  document.body.append(carrier);
  carrier.submit();
}

// Each form matching ``selector`` is handled by ``handler(form)`` instead of being sent.
export function onSubmit(selector, handler) {
  for (const form of document.querySelectorAll(selector)) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(form);
    });
  }
}
