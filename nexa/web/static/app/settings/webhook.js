// Settings > one webhook: its settings, secret, delivery log (response codes) and redelivery.
import { api, accountPath } from "/static/app/js/api.js";
import { h, clear, toast } from "/static/app/js/dom.js";
import { config, formatDateTime, t } from "/static/app/js/i18n.js";
import { bindForm, copyable, deleteButton, fillForm, loadInboxChoices } from "./forms.js";

const path = accountPath(`/webhooks/${config.webhookId}`);
const form = document.querySelector('[data-form="webhook"]');
const rows = document.querySelector('[data-list="deliveries"]');
const more = document.querySelector('[data-action="more-deliveries"]');
const PER_PAGE = 50; // the API's page size
let page = 1;

function show(webhook) {
  fillForm(form, { ...webhook, inbox_id: webhook.inbox?.id ?? "" });
  document.querySelector("[data-title]").textContent = webhook.name || webhook.url;
  clear(document.querySelector("[data-secret]")).append(copyable(t("Signing secret"), webhook.secret));
  const disabled = document.querySelector("[data-disabled]");
  disabled.hidden = webhook.enabled;
  document.querySelector("[data-disabled-reason]").textContent = webhook.disabled_reason || t("This webhook is turned off.");
}

async function load() {
  const { payload } = await api.get(accountPath("/webhooks"));
  const webhook = payload.webhooks.find((w) => w.id === config.webhookId);
  if (!webhook) throw new Error(t("This webhook does not exist (any more)."));
  show(webhook);
}

function deliveryRow(delivery) {
  const redeliver = h("button", {
    type: "button", class: "button button--small",
    onclick: async () => {
      try {
        await api.post(`${path}/deliveries/${delivery.id}/redeliver`);
        toast(t("Sent again."));
        reloadDeliveries();
      } catch (failure) {
        toast(failure.message, "error");
      }
    },
  }, t("Redeliver"));
  const response = delivery.response_status
    ? String(delivery.response_status)
    : delivery.error || "—";
  return h("tr", { class: `settings__delivery settings__delivery--${delivery.state}` },
    h("td", {}, h("code", {}, delivery.event)),
    h("td", {}, t(delivery.state)),
    h("td", { title: delivery.response_body || "" }, response),
    h("td", {}, String(delivery.attempts)),
    h("td", {}, formatDateTime(delivery.last_attempt_at || delivery.created_at)),
    h("td", {}, redeliver));
}

async function loadDeliveries() {
  const { payload } = await api.get(`${path}/deliveries`, { page });
  if (page === 1 && !payload.length) {
    rows.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("Nothing delivered yet."))));
  }
  rows.append(...payload.map(deliveryRow));
  more.hidden = payload.length < PER_PAGE;
}

function reloadDeliveries() {
  page = 1;
  clear(rows);
  loadDeliveries().catch((failure) => toast(failure.message, "error"));
}

more.addEventListener("click", () => {
  page += 1;
  loadDeliveries().catch((failure) => toast(failure.message, "error"));
});
document.querySelector('[data-action="enable"]').addEventListener("click", async () => {
  try {
    show((await api.patch(path, { enabled: true })).payload.webhook);
    toast(t("Saved."));
  } catch (failure) {
    toast(failure.message, "error");
  }
});
bindForm(form, (values) => api.patch(path, { inbox_id: null, subscriptions: [], ...values }), ({ payload }) => {
  show(payload.webhook);
  toast(t("Saved."));
});
document.querySelector("[data-delete]").append(
  deleteButton(path, t("Delete this webhook?"), () => location.assign(`/app/accounts/${config.accountId}/settings/webhooks`)));

loadInboxChoices(form.querySelector("[data-inboxes]"))
  .then(load)
  .then(reloadDeliveries)
  .catch((failure) => {
    const error = document.querySelector("[data-load-error]");
    error.textContent = failure.message;
    error.hidden = false;
  });
