// Passkeys with the browser's own WebAuthn (navigator.credentials): add one, sign in
// with one, confirm a sensitive action with one. The server makes every challenge (bound
// to this session, used once) and checks every answer; this module only carries them.
// Without JavaScript or WebAuthn the buttons stay hidden: password and code still work.

const supported = typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

// --- base64url (RFC 4648 section 5, no padding) -----------------------------------------

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) { text += String.fromCharCode(byte); }
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const plain = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
  return bytes.buffer;
}

// --- Options from the server, answers back to it --------------------------------------

async function optionsFrom(url, form, purpose) {
  const body = new URLSearchParams();
  body.set("csrf_token", form.elements.namedItem("csrf_token").value);
  if (purpose) { body.set("purpose", purpose); }
  const response = await fetch(url, {
    method: "POST", body, credentials: "same-origin", cache: "no-store",
  });
  if (!response.ok) { throw new Error("no challenge"); }
  return response.json();
}

function descriptors(list) {
  return (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));
}

async function createCredential(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  };
  const credential = await navigator.credentials.create({ publicKey });
  const response = credential.response;
  return JSON.stringify({
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: typeof response.getTransports === "function" ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  });
}

async function getAssertion(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  };
  const credential = await navigator.credentials.get({ publicKey });
  const response = credential.response;
  return JSON.stringify({
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  });
}

function say(container, text) {
  const status = container.querySelector(":scope > .passkey-status");
  if (status) { status.textContent = text; }
}

// --- Sign in: username and password, then the passkey instead of the code --------------

const signIn = document.querySelector("[data-passkey-sign-in]");
if (signIn && supported) {
  const form = signIn.closest("form");
  signIn.hidden = false;
  signIn.querySelector("button").addEventListener("click", async () => {
    const username = form.elements.namedItem("username").value.trim();
    const password = form.elements.namedItem("password").value;
    if (!username || !password) { say(signIn, signIn.dataset.missingPassword); return; }
    say(signIn, "");
    try {
      const options = await optionsFrom("/login/passkey", form);
      form.querySelector("[data-passkey-assertion]").value = await getAssertion(options);
    } catch (error) {
      say(signIn, signIn.dataset.failed);
      return;
    }
    form.elements.namedItem("totp_code").value = "";
    form.submit();
  });
}

// --- Confirm a sensitive action: password, then the passkey instead of the code --------

for (const block of document.querySelectorAll("[data-passkey-confirm]")) {
  if (!supported) { continue; }
  const form = block.closest("form");
  block.hidden = false;
  block.querySelector("button").addEventListener("click", async () => {
    const password = form.elements.namedItem("current_password");
    if (!password || !password.value) { say(block, block.dataset.missingPassword); return; }
    const submit = form.querySelector("button[type=submit]");
    say(block, "");
    try {
      const options = await optionsFrom("/staff/passkeys/options", form, "confirm");
      form.querySelector("[data-passkey-assertion]").value = await getAssertion(options);
    } catch (error) {
      say(block, block.dataset.failed);
      return;
    }
    const code = form.querySelector("input[name=totp_code]");
    if (code) { code.value = ""; }
    // Through the form's own button, so its other scripts (keys.js) still run.
    submit.click();
  });
}

// --- Add a passkey -----------------------------------------------------------------------

const register = document.querySelector("form[data-passkey-register]");
if (register && supported) {
  register.addEventListener("submit", async (event) => {
    const field = register.querySelector("[data-passkey-attestation]");
    if (field.value) { return; }
    event.preventDefault();
    if (!register.elements.namedItem("name").value.trim()) {
      register.submit();  // the server says what is missing
      return;
    }
    say(register, "");
    try {
      const options = await optionsFrom("/staff/passkeys/options", register, "register");
      field.value = await createCredential(options);
    } catch (error) {
      say(register, register.dataset.failed);
      return;
    }
    register.submit();
  });
}
