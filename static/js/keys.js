// A staff member's key (investigator or NGO worker), in this browser only: create it,
// and change or recover its passphrase. The private key is made, wrapped and unwrapped
// here; only the public key and the wrapped keys are sent. No private key is ever
// stored or sent anywhere.
import {
  fingerprint, fromBase64, isUsablePublicKey, newKeyPair, newRecoveryKey, normaliseRecoveryKey,
  toBase64, unwrapSecretKey, wrapSecretKey,
} from "./sealing.js";

function progressOf(container) {
  const bar = container.querySelector("progress");
  return (fraction) => { bar.hidden = false; bar.value = fraction; };
}

function say(element, text) { element.textContent = text; }

// --- Create, change and recover ------------------------------------------------------

function newPassphrase(form, status) {
  const chosen = form.querySelector("[data-new]").value;
  if (chosen.length < 12) { say(status, status.dataset.short); return null; }
  // The login password travels to the server at every sign-in: a key wrapped under it
  // would be one the server could open. Compared here when it is typed on this form
  // (to confirm it is you); nothing is sent for it.
  const password = form.querySelector("input[name=current_password]");
  if (password && password.value && chosen === password.value) {
    say(status, status.dataset.password);
    return null;
  }
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
