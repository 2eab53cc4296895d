// The sealed details of a consultation's safety plan (domain/safety_plans.py): opened
// here once the key is unlocked (unlock.js), and sealed here to every staff
// participant's key (envelope v1, docs/crypto.md) when the plan is saved. Only the
// envelopes leave the page: the text area has no name. Without the unlocked key nothing
// is sealed and the plain choices save alone; the stored details stay.
import { fromBase64, openJson, sealJson, toBase64 } from "./sealing.js";
import { whenUnlocked } from "./unlock.js";

const PAD_TO = 256;
const MAX_TEXT = 4000;

function contextOf(consultation, recipient) {
  return { v: 1, consultation, kind: "safety_plan", recipient };
}

function opened(section, key, value) {
  const details = openJson(key, fromBase64(value),
                           contextOf(section.dataset.safetyPlan, section.dataset.reader));
  if (typeof details.text !== "string") { throw new Error("no text"); }
  return details.text;
}

for (const section of document.querySelectorAll("[data-safety-plan]")) {
  const form = section.querySelector("form[data-safety-form]");
  const area = form.querySelector("#sp-details");
  const status = form.querySelector(".safety-status");
  if (!area) { continue; } // no key, or not among the participants' keys: choices only
  let unlocked = false;
  let hadDetails = false;

  whenUnlocked((key) => {
    // What a refused save kept comes back first; otherwise the stored details.
    const source = section.dataset.kept || section.dataset.envelope;
    if (source) {
      try {
        area.value = opened(section, key, source); // a value, never markup
        hadDetails = Boolean(section.dataset.envelope);
      } catch (error) {
        status.textContent = section.dataset.cannotOpen;
      }
    }
    form.querySelector("[data-details]").hidden = false;
    form.querySelector("[data-details-locked]").hidden = true;
    unlocked = true;
  });

  form.addEventListener("submit", (event) => {
    if (!unlocked) { return; } // the choices alone; kept envelopes (if any) go as they are
    const text = area.value.trim();
    if ([...text].length > MAX_TEXT) {
      event.preventDefault();
      status.textContent = section.dataset.tooLong;
      return;
    }
    for (const kept of form.querySelectorAll("[data-kept-envelope], [data-sealed]")) { kept.remove(); }
    if (!text) {
      if (hadDetails) { addField(form, "clear_details", "yes"); }
      return;
    }
    const time = Math.floor(Date.now() / 1000);
    for (const item of section.querySelectorAll("[data-participant]")) {
      const envelope = sealJson(fromBase64(item.dataset.participantKey),
                                { ...contextOf(section.dataset.safetyPlan, item.dataset.participant), time, text },
                                { padTo: PAD_TO });
      addField(form, "envelope", `${item.dataset.participant}:${toBase64(envelope)}`);
    }
  });
}

function addField(form, name, value) {
  const field = document.createElement("input");
  field.type = "hidden";
  field.name = name;
  field.value = value;
  field.dataset.sealed = "";
  form.append(field);
}
