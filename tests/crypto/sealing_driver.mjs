// Drives the real static/js/sealing.js in Node for tests/crypto/test_js_interop.py.
// Reads one JSON document on stdin (vectors and Python-made inputs), prints one JSON
// document of results; Python does the judging. Run from a copy laid out as
//   <dir>/package.json ({"type": "module"}), <dir>/static/js/sealing.js, <dir>/static/vendor/
globalThis.self = globalThis; // what tweetnacl's UMD wrapper looks for in a browser
const m = await import(process.argv[2]);
const { toBase64: b64, fromBase64: unb64 } = m;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf-8"));

async function outcome(fn) {
  const started = performance.now();
  try {
    const value = await fn();
    return { ok: true, value, ms: performance.now() - started };
  } catch (e) {
    return { ok: false, name: e.name, message: e.message, ms: performance.now() - started };
  }
}
const flip = (bytes, index, bit = 1) => {
  const out = bytes.slice();
  out[index] ^= bit;
  return out;
};

const env = input.envelopes;
const wrapped = input.wrapped_keys;
const sk = unb64(env.secret_key_b64);
const pk = unb64(env.public_key_b64);
const out = {};

// The fixed vectors, made by PyNaCl.
out.fingerprints = [m.fingerprint(pk), m.fingerprint(unb64(env.other_public_key_b64))];
out.envelope_vectors = [];
for (const v of env.vectors) {
  out.envelope_vectors.push(await outcome(() => m.openJson(sk, unb64(v.envelope_b64), v.context)));
}
out.wrapped_vectors = [];
for (const v of wrapped.vectors) {
  const passphrases = [v.passphrase, v.passphrase_nfd,
    v.recovery_key && m.normaliseRecoveryKey(v.recovery_key),
    v.recovery_key_as_typed && m.normaliseRecoveryKey(v.recovery_key_as_typed)];
  const results = [];
  for (const p of passphrases.filter((p) => p !== undefined)) {
    results.push(await outcome(async () =>
      b64(await m.unwrapSecretKey(unb64(v.wrapped_b64), p, pk))));
  }
  out.wrapped_vectors.push(results);
}
out.normalised = wrapped.recovery_key_normalisation.map(([typed]) => m.normaliseRecoveryKey(typed));

// Python-made inputs open in JS.
out.python_sealed = await outcome(() =>
  m.openJson(sk, unb64(input.python_sealed.envelope_b64), input.python_sealed.context));
out.python_wrapped = await outcome(async () =>
  b64(await m.unwrapSecretKey(unb64(input.python_wrapped.wrapped_b64),
    input.python_wrapped.passphrase, pk)));

// JS-made outputs, for Python to open.
out.js_sealed = input.messages.map((message) => b64(m.sealJson(pk, message)));
out.js_padded = input.padded_messages.map((message) =>
  b64(m.sealJson(pk, message, { padTo: 256 })));
let progress = [];
out.js_wrapped = b64(await m.wrapSecretKey(sk, input.passphrase_nfd,
  { opslimit: 2, memlimitKiB: 19456 }, (p) => progress.push(p)));
out.progress = { calls: progress.length, last: progress.at(-1) };
const recoveryKey = m.newRecoveryKey();
out.js_recovery = { recovery_key: recoveryKey, wrapped_b64: b64(await m.wrapSecretKey(
  sk, m.normaliseRecoveryKey(recoveryKey), { opslimit: 2, memlimitKiB: 19456 })) };
out.recovery_keys = Array.from({ length: 64 }, () => m.newRecoveryKey());
out.key_pairs = Array.from({ length: 4 }, () => {
  const kp = m.newKeyPair();
  return { sk: b64(kp.secretKey), pk: b64(kp.publicKey), fingerprint: m.fingerprint(kp.publicKey) };
});
out.base64 = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(255, 254),
  Uint8Array.from({ length: 256 }, (_, i) => i)].map(b64);
out.base64_refused = await Promise.all(["AA", "AA=", "A===", "AA==\n", "AA-_", "****", "AAA==="]
  .map((s) => outcome(() => m.fromBase64(s))));

// Refusals in JS.
const note = unb64(env.vectors[0].envelope_b64);
const context = env.vectors[0].context;
out.tampered = [];
for (let i = 0; i < note.length; i++) {
  out.tampered.push((await outcome(() => m.openJson(sk, flip(note, i), context))).name);
}
out.top_bit = await outcome(() => m.openJson(sk, flip(note, 32, 0x80), context));
out.wrong_key = await outcome(() => m.openJson(unb64(env.other_secret_key_b64), note, context));
out.wrong_context = await outcome(() =>
  m.openJson(sk, note, { ...context, consultation: "c-other" }));
out.wrong_type_context = await outcome(() => m.openJson(sk, note, { ...context, v: true }));
out.malformed = await Promise.all([new Uint8Array(0), note.slice(0, 72), flip(note, 0, 3)]
  .map((e) => outcome(() => m.openJson(sk, e, {}))));
out.low_order_seal = await outcome(() => m.sealJson(new Uint8Array(32), { v: 1 }));
out.usable = input.low_order_hex.map((hex) => m.isUsablePublicKey(Uint8Array.from(Buffer.from(hex, "hex"))));
out.usable_real = [pk, unb64(env.other_public_key_b64), ...Array.from({ length: 8 },
  () => m.newKeyPair().publicKey)].map((key) => m.isUsablePublicKey(key));
const topBit = pk.slice();
topBit[31] |= 0x80;
out.usable_odd = [pk.subarray(0, 31), topBit, "not bytes"].map((key) => m.isUsablePublicKey(key));
out.low_order_seals = await Promise.all(input.low_order_hex.map((hex) =>
  outcome(() => m.sealJson(Uint8Array.from(Buffer.from(hex, "hex")), { v: 1 }))));

const small = wrapped.vectors[0];
const smallWrapped = unb64(small.wrapped_b64);
out.wrapped_tampered = [];
for (const i of input.wrapped_tamper_indexes) {
  out.wrapped_tampered.push(await outcome(() =>
    m.unwrapSecretKey(flip(smallWrapped, i), small.passphrase, pk)));
}
out.wrong_passphrase = await outcome(() => m.unwrapSecretKey(smallWrapped, "wrong", pk));
out.key_mismatch = await outcome(() =>
  m.unwrapSecretKey(smallWrapped, small.passphrase, unb64(env.other_public_key_b64)));
out.wrapped_malformed = [];
for (const bad of input.wrapped_malformed_b64) {
  out.wrapped_malformed.push(await outcome(() =>
    m.unwrapSecretKey(unb64(bad), small.passphrase, pk)));
}
out.wrap_absurd = await outcome(() =>
  m.wrapSecretKey(sk, "p", { opslimit: 1000, memlimitKiB: 19456 }));
out.wrap_weak = await Promise.all(input.weak_params.map(([opslimit, memlimitKiB]) =>
  outcome(() => m.wrapSecretKey(sk, "p", { opslimit, memlimitKiB }))));

process.stdout.write(JSON.stringify(out));
