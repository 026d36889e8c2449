// Settings > Agents: invite (the invitation link is shown: Nexa sends no email), change role, remove.
import { api, accountPath } from "/static/app/js/api.js";
import { h, clear, toast } from "/static/app/js/dom.js";
import { config, t } from "/static/app/js/i18n.js";
import { bindForm, copyable, deleteButton, renderList, showLoadError } from "./forms.js";

const list = document.querySelector('[data-list="agents"]');
const roleOptions = document.querySelector('[data-template="roles"]').content;
const inviteForm = document.querySelector('[data-form="invite"]');
const inviteResult = document.querySelector('[data-result="invite"]');

function roleSelect(agent) {
  const select = h("select", { "aria-label": t("Role of %(name)s", { name: agent.name }) });
  select.append(roleOptions.cloneNode(true));
  if (![...select.options].some((o) => o.value === agent.role)) select.append(h("option", { value: agent.role }, agent.role));
  select.value = agent.role;
  // Nobody demotes themselves by accident (an account must keep an administrator who can undo it).
  select.disabled = agent.id === config.userId;
  select.addEventListener("change", async () => {
    try {
      await api.patch(accountPath(`/agents/${agent.id}`), { role: select.value });
      toast(t("Saved."));
    } catch (failure) {
      select.value = agent.role;
      toast(failure.message, "error");
    }
  });
  return select;
}

async function refresh() {
  try {
    const agents = await api.get(accountPath("/agents"));
    renderList(list, agents, (agent) => h("article", { class: "settings__row" },
      h("div", { class: "settings__row-main" }, h("strong", {}, agent.name), h("span", { class: "muted" }, agent.email)),
      h("div", { class: "settings__row-actions" }, roleSelect(agent),
        agent.id === config.userId ? null
          : deleteButton(accountPath(`/agents/${agent.id}`), t("Remove %(name)s from this account?", { name: agent.name }), refresh,
            { name: agent.name }))),
      t("No agents yet."));
  } catch (failure) {
    showLoadError(list, failure);
  }
}

bindForm(inviteForm, (values) => api.post(accountPath("/agents"), values), async (invited) => {
  inviteForm.reset();
  clear(inviteResult);
  if (invited.invitation_url) {
    // The API's link is for programs (POST); people get the page that wears this account's brand.
    const pageLink = invited.invitation_url.replace("/api/v1/auth/invitations/", "/app/invitations/");
    inviteResult.append(h("p", {}, t("Send this link to %(email)s to set a password (valid for 7 days):", { email: invited.email })),
      copyable(t("Invitation link"), pageLink));
  } else {
    inviteResult.append(h("p", {}, t("%(email)s already has a login and can sign in now.", { email: invited.email })));
  }
  await refresh();
});
refresh();
