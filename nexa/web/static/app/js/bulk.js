// The conversation list's bulk actions as POST /bulk_actions bodies (Chatwoot's shape, nexa/bulk_actions/).
// No DOM and no page config: node runs it in the browser-free tests (tests/web/test_list_bulk.py).
import { snoozeUntil } from "./snooze.js";

/** The option value that clears the assignee or the team. */
export const NONE = "none";

const idOrNone = (value) => (value === NONE ? null : Number(value));

/** The body that applies `action` with the picked `value` to the conversations `ids` (display ids). */
export function bulkActionBody(ids, action, value, now = new Date()) {
  const body = { type: "Conversation", ids: [...ids] };
  switch (action) {
    case "resolve":
      return { ...body, fields: { status: "resolved" } };
    case "assign":
      return { ...body, fields: { assignee_id: idOrNone(value) } };
    case "team":
      return { ...body, fields: { team_id: idOrNone(value) } };
    case "label-add":
      return { ...body, labels: { add: [value], remove: [] } };
    case "label-remove":
      return { ...body, labels: { add: [], remove: [value] } };
    case "snooze":
      return { ...body, fields: { status: "snoozed", snoozed_until: snoozeUntil(value, now) } };
    default:
      throw new Error(`unknown bulk action: ${action}`);
  }
}
