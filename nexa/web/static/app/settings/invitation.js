// An invited user chooses a password (the API checks length and the confirmation), then signs in.
import { request } from "/static/app/js/api.js";
import { config } from "/static/app/js/i18n.js";
import { bindForm } from "./forms.js";

bindForm(document.querySelector('[data-form="invitation"]'),
  (values) => request("POST", `/api/v1/auth/invitations/${encodeURIComponent(config.invitationToken)}`, values),
  () => location.assign("/app/login"));
