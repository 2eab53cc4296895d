// Sealing notes to an investigator, and keeping the investigator's private key under a
// passphrase. Formats are contracts (DESIGN.md section 5, docs/crypto.md); Python's
// portal/crypto/envelopes.py and wrapped_keys.py read and write the same bytes.
//
// Threats addressed:
// - The server, its database, backups or logs being read: notes are sealed in the browser
//   to the investigator's public key; the server never sees a plaintext note, a
//   passphrase or a private key, only envelopes and wrapped keys.
// - An envelope altered or truncated in storage or transit: authenticated encryption
//   (crypto_box) refuses it; an unknown version or short input is refused as malformed.
// - An envelope moved to another consultation or reused as another kind of note: the
//   context (consultation, kind, author) is inside the plaintext and checked on opening,
//   because anyone holding the public key can seal, so the sender is not authenticated.
// - A stolen wrapped key: guessing the passphrase costs argon2id (64 MiB, 3 passes) each.
// - A wrapped key swapped for another one: after unwrapping, its public key must match
//   the registered one.
// - A hostile wrapped key with absurd argon2 parameters (memory/time exhaustion): refused
//   before any hashing. Below the floor (19 MiB, 2 passes) a stolen database would make
//   passphrases cheap to guess: such parameters are refused for wrapping and unwrapping.
// - A low-order public key that would make the shared key predictable: refused; so is the
//   top bit of the ephemeral key, which X25519 ignores (no envelope is malleable).
// Not addressed here: a compromised server serving altered JavaScript or a substituted
// public key (compare fingerprints out of band), malware on the device, a weak passphrase.
import "../vendor/tweetnacl/nacl-fast.min.js";

const nacl = self.nacl;

const VERSION = 1;
const PK = 32;
const NONCE = 24;
const HEADER = 1 + PK + NONCE; // version || ephemeral public key || nonce
const SALT = 16;
const WRAP_HEADER = 1 + 4 + 4 + SALT + NONCE; // version || ops || mem KiB || salt || nonce
const WRAPPED = WRAP_HEADER + 32 + 16; // the secret key plus the secretbox tag
// Outside these, a wrapped key is refused before argon2 runs (a stored blob is input).
// The floor is OWASP's argon2id minimum; the server refuses to store anything below it.
export const LIMITS = Object.freeze({ minOps: 2, maxOps: 20, minMemKiB: 19456, maxMemKiB: 1 << 20 });

function fail(name, message) {
  const error = new Error(message);
  error.name = name; // the same names as the Python exceptions
  return error;
}

function bytes(value, length, what) {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new TypeError(`${what} must be a Uint8Array` + (length ? ` of ${length} bytes` : ""));
  }
  return value;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

// libsodium refuses a public key whose shared point is zero; tweetnacl does not, so check.
function assertUsable(secretKey, publicKey, onFail) {
  if (nacl.scalarMult(secretKey, publicKey).every((b) => b === 0)) throw onFail();
}

// Whether notes can be sealed to this public key: 32 bytes, the top bit clear (X25519
// ignores it, so such a key is another spelling of a different key) and not of low order.
// X25519 clamps every scalar to a multiple of 8, so a point of order 1, 2, 4 or 8 times
// any scalar is all zeros; any other point is, with negligible chance. The same rule as
// is_usable_public_key in portal/crypto/envelopes.py.
export function isUsablePublicKey(publicKey) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PK || publicKey[PK - 1] & 0x80) {
    return false;
  }
  const probe = nacl.randomBytes(32);
  try {
    return !nacl.scalarMult(probe, publicKey).every((b) => b === 0);
  } finally {
    probe.fill(0);
  }
}

export function newKeyPair() {
  return nacl.box.keyPair();
}

// padTo: pad the JSON with trailing spaces to a multiple of this many bytes (messages
// use 256, so envelope sizes do not reveal lengths; JSON parsers ignore the spaces).
export function sealJson(publicKey, message, { padTo = 1 } = {}) {
  bytes(publicKey, PK, "public key");
  if (!isUsablePublicKey(publicKey)) throw new TypeError("not a usable public key");
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    throw new TypeError("message must be a plain object");
  }
  if (!Number.isInteger(padTo) || padTo < 1) throw new TypeError("padTo must be a positive integer");
  const json = new TextEncoder().encode(JSON.stringify(message));
  const plaintext = new Uint8Array(Math.ceil(json.length / padTo) * padTo).fill(0x20);
  plaintext.set(json);
  json.fill(0);
  const ephemeral = nacl.box.keyPair();
  const nonce = nacl.randomBytes(NONCE);
  try {
    const box = nacl.box(plaintext, nonce, publicKey, ephemeral.secretKey);
    return concat([VERSION], ephemeral.publicKey, nonce, box);
  } finally {
    ephemeral.secretKey.fill(0);
    plaintext.fill(0);
  }
}

export function openJson(secretKey, envelope, expected) {
  bytes(secretKey, 32, "secret key");
  bytes(envelope, undefined, "envelope");
  if (envelope.length < HEADER + nacl.box.overheadLength || envelope[0] !== VERSION) {
    throw fail("MalformedEnvelope", "envelope is malformed (too short or unknown version)");
  }
  const cannotOpen = () => fail("CannotOpen", "envelope cannot be opened: wrong key or altered");
  const ephemeralPk = envelope.subarray(1, 1 + PK);
  // X25519 ignores the top bit, so a flipped one would still open; real keys never set it.
  if (ephemeralPk[PK - 1] & 0x80) throw cannotOpen();
  assertUsable(secretKey, ephemeralPk, cannotOpen);
  const plaintext = nacl.box.open(
    envelope.subarray(HEADER), envelope.subarray(1 + PK, HEADER), ephemeralPk, secretKey);
  if (!plaintext) throw cannotOpen();
  let message;
  try {
    message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    message = null;
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    throw fail("MalformedEnvelope", "envelope is malformed (its content is not a JSON object)");
  }
  for (const [key, value] of Object.entries(expected || {})) {
    if (value !== null && typeof value === "object") {
      throw new TypeError(`expected ${key} must be a string, number, boolean or null`);
    }
    if (!Object.hasOwn(message, key) || message[key] !== value) {
      throw fail("WrongContext", `envelope belongs to another context (${key} differs)`);
    }
  }
  return message;
}

function paramsError(opslimit, memlimitKiB) {
  const ok = (n, lo, hi) => Number.isInteger(n) && n >= lo && n <= hi;
  if (ok(opslimit, LIMITS.minOps, LIMITS.maxOps) &&
      ok(memlimitKiB, LIMITS.minMemKiB, LIMITS.maxMemKiB)) return null;
  return `argon2 parameters out of range (opslimit ${opslimit}, memlimit ${memlimitKiB} KiB)`;
}

// argon2 is loaded only when a key is wrapped or unwrapped: pages that merely seal a note
// (the client's) stay small. Key pages preload these files with Subresource Integrity.
async function deriveKey(passphrase, salt, opslimit, memlimitKiB, onProgress) {
  if (typeof passphrase !== "string") throw new TypeError("passphrase must be a string");
  const { argon2idAsync } = await import("../vendor/noble-hashes/argon2.js");
  const password = new TextEncoder().encode(passphrase.normalize("NFC"));
  return argon2idAsync(password, salt, {
    t: opslimit, m: memlimitKiB, p: 1, dkLen: 32, version: 0x13,
    maxmem: memlimitKiB * 1024, onProgress,
  }).finally(() => password.fill(0));
}

export async function wrapSecretKey(secretKey, passphrase,
                                    { opslimit = 3, memlimitKiB = 65536 } = {}, onProgress) {
  bytes(secretKey, 32, "secret key");
  const badParams = paramsError(opslimit, memlimitKiB);
  if (badParams) throw new RangeError(badParams);
  if (!passphrase) throw new TypeError("passphrase must not be empty");
  const salt = nacl.randomBytes(SALT);
  const nonce = nacl.randomBytes(NONCE);
  const key = await deriveKey(passphrase, salt, opslimit, memlimitKiB, onProgress);
  const params = new Uint8Array(8);
  const view = new DataView(params.buffer);
  view.setUint32(0, opslimit);
  view.setUint32(4, memlimitKiB);
  try {
    return concat([VERSION], params, salt, nonce, nacl.secretbox(secretKey, nonce, key));
  } finally {
    key.fill(0);
  }
}

export async function unwrapSecretKey(wrapped, passphrase, expectedPublicKey, onProgress) {
  bytes(wrapped, undefined, "wrapped key");
  bytes(expectedPublicKey, PK, "expected public key");
  if (wrapped.length !== WRAPPED || wrapped[0] !== VERSION) {
    throw fail("MalformedWrappedKey", "wrapped key is malformed (wrong length or version)");
  }
  const view = new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const opslimit = view.getUint32(1);
  const memlimitKiB = view.getUint32(5);
  const badParams = paramsError(opslimit, memlimitKiB);
  if (badParams) throw fail("MalformedWrappedKey", `wrapped key is malformed: ${badParams}`);
  const salt = wrapped.slice(9, 9 + SALT);
  const nonce = wrapped.slice(9 + SALT, WRAP_HEADER);
  const key = await deriveKey(passphrase, salt, opslimit, memlimitKiB, onProgress);
  const secretKey = nacl.secretbox.open(wrapped.subarray(WRAP_HEADER), nonce, key);
  key.fill(0);
  if (!secretKey) throw fail("WrongPassphrase", "wrong passphrase");
  const publicKey = nacl.box.keyPair.fromSecretKey(secretKey).publicKey;
  if (!nacl.verify(publicKey, expectedPublicKey)) {
    secretKey.fill(0);
    throw fail("KeyMismatch", "this key does not belong to the registered public key");
  }
  return secretKey;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// 160 random bits as 32 base32 letters in groups of 4: ABCD-EFGH-... (8 groups).
export function newRecoveryKey() {
  const random = nacl.randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  random.fill(0);
  return out.match(/.{4}/g).join("-");
}

// What the user typed, as the passphrase the recovery wrapped key was made with.
export function normaliseRecoveryKey(s) {
  if (typeof s !== "string") throw new TypeError("recovery key must be a string");
  return s.toUpperCase().replace(/[ \t\r\n\u00a0-]+/g, "");
}

export function fingerprint(publicKey) {
  const hash = nacl.hash(bytes(publicKey, PK, "public key")).subarray(0, 16);
  const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g).join(" ");
}

export function toBase64(data) {
  let binary = "";
  for (const byte of bytes(data, undefined, "data")) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text) {
  if (typeof text !== "string" ||
      !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new TypeError("not standard base64");
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
