// Settings > Inboxes: the list, and creating an inbox of any channel with what to give the provider shown.
import { api, accountPath } from "/static/app/js/api.js";
import { h, clear } from "/static/app/js/dom.js";
import { config, t } from "/static/app/js/i18n.js";
import { bindForm, renderList, showLoadError } from "./forms.js";
import { channelName, connectionDetails, newVerifyToken, showChannel } from "./channels.js";

const list = document.querySelector('[data-list="inboxes"]');
const form = document.querySelector('[data-form="inbox"]');
const choice = form.querySelector("[data-channel-choice]");
const result = document.querySelector('[data-result="inbox"]');
const inboxPage = (id) => `/app/accounts/${config.accountId}/settings/inboxes/${id}`;

async function refresh() {
  try {
    const { payload } = await api.get(accountPath("/inboxes"));
    renderList(list, payload, (inbox) => h("article", { class: "settings__row" },
      h("div", { class: "settings__row-main" },
        h("a", { href: inboxPage(inbox.id) }, inbox.name),
        h("span", { class: "settings__badge" }, channelName(inbox.provider))),
      h("div", { class: "settings__row-actions" }, h("a", { class: "button button--small", href: inboxPage(inbox.id) }, t("Settings")))),
      t("No inboxes yet: create the first one below."));
  } catch (failure) {
    showLoadError(list, failure);
  }
}

function prepare() {
  form.reset();
  showChannel(form, choice.value);
  for (const field of form.querySelectorAll("[data-generate]")) field.value = newVerifyToken();
}

choice.addEventListener("change", () => showChannel(form, choice.value));
bindForm(form, (values) => api.post(accountPath("/inboxes"), values), async (inbox) => {
  const verifyToken = inbox.provider === "whatsapp_cloud" ? form.querySelector("[data-generate]").value : null;
  clear(result).append(
    h("h3", {}, t("Inbox %(name)s created", { name: inbox.name })),
    connectionDetails(inbox, { verifyToken }),
    h("a", { class: "button", href: inboxPage(inbox.id) }, t("Inbox settings and agents")));
  prepare();
  await refresh();
  result.querySelector("input, textarea")?.focus();
});
prepare();
refresh();
