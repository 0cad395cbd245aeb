// Between form fields and the API's JSON.

/** splitTags reads "home, Errands" as ["home", "errands"]; the API lower-cases too. */
export function splitTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean))];
}

/** fromLocal turns a datetime-local value (the browser's zone) into RFC 3339, "" into null. */
export function fromLocal(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

/** toLocal turns an RFC 3339 time into a datetime-local value in the browser's zone. */
export function toLocal(value: string | null | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
