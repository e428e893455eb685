// Every string of the page comes from a catalogue (i18n/<lang>.json); dates and numbers are
// formatted in the user's language. The choice is kept in localStorage.

export const LANGUAGES = ["en", "fr", "nl"];
const KEY = "vigie.lang";
let lang = "en";
let messages = {};
const listeners = new Set();

function initial() {
  const saved = localStorage.getItem(KEY);
  if (LANGUAGES.includes(saved)) return saved;
  const browser = (navigator.language || "en").slice(0, 2);
  return LANGUAGES.includes(browser) ? browser : "en";
}

export async function setLanguage(wanted) {
  const next = LANGUAGES.includes(wanted) ? wanted : "en";
  const response = await fetch(`/app/i18n/${next}.json`, { credentials: "same-origin" });
  messages = await response.json();
  lang = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
  document.title = t("title");
  translateStatic(document);
  for (const listener of listeners) listener(lang);
}

export function startLanguage() {
  return setLanguage(initial());
}

export function language() {
  return lang;
}

export function onLanguage(listener) {
  listeners.add(listener);
}

/** The message `key`, with {name} placeholders filled from `params`. */
export function t(key, params = {}) {
  const template = messages[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

export function translateStatic(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
}

export function formatTime(value) {
  if (!value) return "—";
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" }).format(date);
}

export function formatClock(value) {
  if (!value) return "—";
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(lang, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 1,
  }).format(date);
}

export function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
}
