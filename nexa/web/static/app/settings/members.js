// A checklist of the account's agents that saves a group's members (a team's, an inbox's) in one call.
import { api, accountPath } from "/static/app/js/api.js";
import { h } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";
import { bindForm } from "./forms.js";

let agentsOnce = null;
const agents = () => (agentsOnce ??= api.get(accountPath("/agents")));

/** A form listing every agent, the current members checked; submit calls save(userIds). */
export async function membersEditor(currentIds, save, legend) {
  const current = new Set(currentIds);
  const form = h("form", { class: "form settings__members" },
    h("fieldset", {}, h("legend", {}, legend),
      ...(await agents()).map((agent) => h("label", { class: "field field--check" },
        h("input", { type: "checkbox", name: "user_ids", value: agent.id, "data-list": true, "data-int": true,
                     checked: current.has(agent.id) }),
        h("span", {}, `${agent.name} (${agent.email})`)))),
    h("p", { class: "form__error", role: "alert", hidden: true }),
    h("div", { class: "settings__actions" }, h("button", { type: "submit", class: "button button--primary button--small" }, t("Save members"))));
  bindForm(form, (values) => save(values.user_ids ?? []), () => {});
  return form;
}
