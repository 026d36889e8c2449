// Settings > Canned responses.
import { api, accountPath } from "/static/app/js/api.js";
import { h } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";
import { crudSection } from "./forms.js";

crudSection({
  form: document.querySelector('[data-form="canned"]'),
  list: document.querySelector('[data-list="canned"]'),
  path: "/canned_responses",
  load: () => api.get(accountPath("/canned_responses")),
  describe: (canned) => [h("strong", {}, `/${canned.short_code}`), h("span", { class: "settings__text" }, canned.content)],
  nameOf: (canned) => canned.short_code,
  emptyText: t("No canned responses yet."),
  deleteQuestion: t("Delete this canned response?"),
});
