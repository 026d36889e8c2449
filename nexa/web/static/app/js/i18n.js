// The page's catalog (embedded by the server from the same .po files as the templates) and localized formats.
const config = JSON.parse(document.getElementById("app-config").textContent);
const messages = config.messages || {};
// Portuguese (Brazil) treats 0 as singular; Spanish and English do not (same rule as the server's catalog).
const pluralIndex = config.locale === "pt-BR" ? (n) => (n > 1 ? 1 : 0) : (n) => (n !== 1 ? 1 : 0);

function format(text, vars) {
  return text.replace(/%\((\w+)\)s/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
}

/** t("Hello %(name)s", {name}) -> the translated text; the English msgid when untranslated. */
export function t(message, vars) {
  const found = messages[message];
  return format(typeof found === "string" ? found : message, vars);
}

/** tn("%(num)s conversation", "%(num)s conversations", n) */
export function tn(singular, plural, n, vars) {
  const found = messages[singular];
  const index = pluralIndex(n);
  const text = Array.isArray(found) ? found[Math.min(index, found.length - 1)] : index ? plural : singular;
  return format(text, { num: n, ...vars });
}

export const locale = config.locale;
export const timeZone = config.timezone;

const timeFormat = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(locale, { timeZone, weekday: "long", day: "numeric", month: "long", year: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "short", timeStyle: "short" });
const dayKeyFormat = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
const numberFormat = new Intl.NumberFormat(locale);

const toDate = (value) => (value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value));
export const formatTime = (value) => timeFormat.format(toDate(value));
export const formatDay = (value) => dayFormat.format(toDate(value));
export const formatDateTime = (value) => dateTimeFormat.format(toDate(value));
/** "2026-11-22" in the account's time zone: groups messages by the account's day, not the browser's. */
export const dayKey = (value) => dayKeyFormat.format(toDate(value));
export const formatNumber = (value) => numberFormat.format(value);

/** "5 min", "2 h", "3 d": a compact waiting time. */
export function formatDuration(seconds) {
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (seconds >= size) {
      return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "narrow" }).format(Math.floor(seconds / size));
    }
  }
  return new Intl.NumberFormat(locale, { style: "unit", unit: "minute", unitDisplay: "narrow" }).format(0);
}

export { config };
