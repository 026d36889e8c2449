// Settings > Webhooks: the list and the create form; each webhook's page has its settings and delivery log.
import { api, accountPath } from "/static/app/js/api.js";
import { h, toast } from "/static/app/js/dom.js";
import { config, t } from "/static/app/js/i18n.js";
import { bindForm, loadInboxChoices, renderList, showLoadError } from "./forms.js";

const list = document.querySelector('[data-list="webhooks"]');
const form = document.querySelector('[data-form="webhook"]');

const webhookPage = (id) => `/app/accounts/${config.accountId}/settings/webhooks/${id}`;

async function refresh() {
  try {
    const { payload } = await api.get(accountPath("/webhooks"));
    renderList(list, payload.webhooks, (webhook) => h("article", { class: "settings__row" },
      h("div", { class: "settings__row-main" },
        h("a", { href: webhookPage(webhook.id) }, webhook.name || webhook.url),
        webhook.name ? h("span", { class: "muted" }, webhook.url) : null,
        h("span", { class: "muted" }, webhook.inbox ? webhook.inbox.name : t("All inboxes")),
        webhook.enabled ? null : h("span", { class: "settings__badge settings__badge--danger" }, t("Disabled"))),
      h("div", { class: "settings__row-actions" },
        h("a", { class: "button button--small", href: webhookPage(webhook.id) }, t("Deliveries and settings")))),
      t("No webhooks yet."));
  } catch (failure) {
    showLoadError(list, failure);
  }
}

loadInboxChoices(form.querySelector("[data-inboxes]")).catch((failure) => toast(failure.message, "error"));
bindForm(form, (values) => api.post(accountPath("/webhooks"), values), ({ payload }) => {
  location.assign(webhookPage(payload.webhook.id));
});
refresh();
