// Settings > Teams, with each team's members.
import { api, accountPath } from "/static/app/js/api.js";
import { h, toast } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";
import { crudSection, named } from "./forms.js";
import { membersEditor } from "./members.js";

async function toggleMembers(team, button) {
  const row = button.closest(".settings__row");
  const open = row.querySelector(".settings__members");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const path = accountPath(`/teams/${team.id}/team_members`);
  try {
    const members = await api.get(path);
    const editor = await membersEditor(members.map((m) => m.id), async (userIds) => {
      await api.patch(path, { user_ids: userIds });
      toast(t("Saved."));
    }, t("Members of %(name)s", { name: team.name }));
    row.append(editor);
    button.setAttribute("aria-expanded", "true");
  } catch (failure) {
    toast(failure.message, "error");
  }
}

crudSection({
  form: document.querySelector('[data-form="team"]'),
  list: document.querySelector('[data-list="team"]'),
  path: "/teams",
  load: () => api.get(accountPath("/teams")),
  describe: (team) => [h("strong", {}, team.name), team.description ? h("span", { class: "muted" }, team.description) : null],
  extra: (team) => h("button", { type: "button", class: "button button--small", "aria-expanded": "false",
                                 "aria-label": named(t("Members"), team.name),
                                 onclick: (event) => toggleMembers(team, event.currentTarget) }, t("Members")),
  nameOf: (team) => team.name,
  emptyText: t("No teams yet."),
  deleteQuestion: t("Delete this team? Its conversations stay, without a team."),
  defaults: { allow_auto_assign: true },
});
