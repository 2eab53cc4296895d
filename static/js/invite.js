// The invitation form (coordinator/people.html): once an organisation is chosen, only
// the roles of its kind can be chosen; choosing another offers that one's roles (the
// page holds every role). Without JavaScript the server disables the other kinds' roles
// for an organisation chosen through its "Invite a person" link or in a form sent back,
// and refuses a role that does not belong to the organisation in any case.
const form = document.querySelector("[data-invite-form]");
if (form) {
  const organisation = form.querySelector("#f-organisation_id");
  const role = form.querySelector("#f-role");
  const narrow = () => {
    const kind = organisation.selectedOptions[0]?.dataset.kind || "";
    for (const option of role.querySelectorAll("option[data-kinds]")) {
      const allowed = !kind || option.dataset.kinds.split(" ").includes(kind);
      option.disabled = !allowed;
      option.hidden = !allowed;
      if (!allowed && option.selected) role.value = "";
    }
    for (const group of role.querySelectorAll("optgroup")) {
      group.hidden = ![...group.querySelectorAll("option")].some((o) => !o.disabled);
    }
  };
  organisation.addEventListener("change", narrow);
  narrow();
}
