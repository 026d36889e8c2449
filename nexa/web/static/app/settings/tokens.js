// Settings > API tokens: create (the token is shown this once), list, revoke.
import { api, accountPath } from "/static/app/js/api.js";
import { h, clear } from "/static/app/js/dom.js";
import { formatDateTime, t } from "/static/app/js/i18n.js";
import { bindForm, copyable, deleteButton, renderList, showLoadError } from "./forms.js";

const list = document.querySelector('[data-list="tokens"]');
const form = document.querySelector('[data-form="token"]');
const result = document.querySelector('[data-result="token"]');

async function refresh() {
  try {
    const { payload } = await api.get(accountPath("/access_tokens"));
    renderList(list, payload, (token) => h("article", { class: "settings__row" },
      h("div", { class: "settings__row-main" },
        h("strong", {}, token.name),
        // The token's own id part is enough to recognize it; the format's fixed prefix is left out.
        h("code", { class: "muted" }, `${token.prefix.split("_").pop()}…`),
        h("span", { class: "muted" }, token.scopes ? token.scopes.join(", ") : t("Full access")),
        h("span", { class: "muted" }, token.last_used_at
          ? t("Last used %(when)s", { when: formatDateTime(token.last_used_at) }) : t("Never used")),
        token.expires_at ? h("span", { class: "muted" }, t("Expires %(when)s", { when: formatDateTime(token.expires_at) })) : null),
      h("div", { class: "settings__row-actions" },
        deleteButton(accountPath(`/access_tokens/${token.id}`), t("Revoke this token? Programs using it stop working."), refresh,
          { label: t("Revoke"), name: token.name }))),
      t("No tokens yet."));
  } catch (failure) {
    showLoadError(list, failure);
  }
}

bindForm(form, (values) => {
  // No scope checked means the token may do what its creator may do: the API's default when scopes is absent.
  if (!values.scopes?.length) delete values.scopes;
  return api.post(accountPath("/access_tokens"), values);
}, async (created) => {
  form.reset();
  clear(result).append(
    h("p", { class: "settings__warning" }, t("Copy the token now: it will not be shown again.")),
    copyable(t("Token %(name)s", { name: created.name }), created.token));
  await refresh();
});
refresh();
