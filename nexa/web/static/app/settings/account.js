// Settings > Account: name, language, time zone, support email. The page reloads so every time and text
// follows the new settings.
import { api, accountPath } from "/static/app/js/api.js";
import { bindForm } from "./forms.js";

bindForm(document.querySelector('[data-form="account"]'), (values) => api.patch(accountPath(""), values),
  () => location.reload());
