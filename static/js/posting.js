// Posting what this page sealed, with fetch, and saying how it went: the conversation's
// messages and shares (conversation.js), the referrals and their shares (referral.js).
// The answer is JSON ({code} on a refusal), read with the response's status.

export function say(element, text) { element.textContent = text; }

export async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
  });
  let answer = {};
  try { answer = await response.json(); } catch { answer = {}; }
  return { ok: response.ok, answer };
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

// Each form matching ``selector`` is handled by ``handler(form)`` instead of being sent.
export function onSubmit(selector, handler) {
  for (const form of document.querySelectorAll(selector)) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(form);
    });
  }
}
