// Unlocking a staff member's private key (investigator or NGO worker) in this page: the
// one unlock panel (templates/partials/unlock.html) every page with sealed content uses.
// The key lives in this module's memory for the life of the page; it is never stored
// (no localStorage, sessionStorage or IndexedDB) and never sent anywhere. Modules that
// open or re-seal content ask for it with whenUnlocked() or currentKey().
import { fromBase64, unwrapSecretKey } from "./sealing.js";

let secretKey = null;
const waiting = [];

// The unlocked secret key, or null while the page is locked.
export function currentKey() { return secretKey; }

// Run callback(secretKey) once the key is unlocked (at once if it already is).
export function whenUnlocked(callback) {
  if (secretKey) { callback(secretKey); } else { waiting.push(callback); }
}

function say(element, text) { element.textContent = text; }

async function unlock(panel) {
  const field = panel.querySelector("input[type=password]");
  const status = panel.querySelector(".unlock-status");
  const bar = panel.querySelector("progress");
  say(status, panel.dataset.working);
  try {
    secretKey = await unwrapSecretKey(fromBase64(panel.dataset.wrappedKey), field.value,
                                      fromBase64(panel.dataset.publicKey),
                                      (fraction) => { bar.hidden = false; bar.value = fraction; });
  } catch (error) {
    say(status, panel.dataset.wrong);
    return false;
  } finally {
    field.value = "";
  }
  say(status, panel.dataset.unlocked);
  return true;
}

for (const panel of document.querySelectorAll("[data-unlock]")) {
  const button = panel.querySelector("[data-unlock-button]");
  const run = async () => {
    button.disabled = true;
    if (await unlock(panel)) {
      for (const callback of waiting.splice(0)) { callback(secretKey); }
    }
    button.disabled = false;
  };
  button.addEventListener("click", run);
  panel.querySelector("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); run(); }
  });
  button.disabled = false; // served disabled, so that no click goes unanswered while this loads
}
