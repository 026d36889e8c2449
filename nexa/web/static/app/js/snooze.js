// When a snooze ends, for the choices the inbox offers on one conversation and on a selection of them.
// No imports: node runs it in the browser-free tests (tests/web/test_list_bulk.py).

/** Unix time of the end of a snooze: in an hour, or 09:00 (the browser's clock) tomorrow or in a week. */
export function snoozeUntil(choice, now = new Date()) {
  const until = new Date(now);
  if (choice === "hour") until.setHours(now.getHours() + 1);
  else if (choice === "tomorrow" || choice === "week") {
    until.setDate(now.getDate() + (choice === "week" ? 7 : 1));
    until.setHours(9, 0, 0, 0);
  } else throw new Error(`unknown snooze choice: ${choice}`);
  return Math.floor(until.getTime() / 1000);
}
