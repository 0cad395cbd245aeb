import type { components } from "./schema.js";
import { problemFrom } from "./errors.js";

type Task = components["schemas"]["Task"];
type List = components["schemas"]["List"];

/**
 * A reminder that fired: `task` has `reminded_at` set, and `late` says it
 * came due while no instance of the API ran (it fired at the next start).
 * `cursor` is the same as the `task.updated` delivered just before it.
 */
export type Reminder = components["schemas"]["ReminderEvent"];

/**
 * One event of the user's stream. `cursor` is the change feed's position
 * of the change: the client resumes after the last one it was handed.
 */
export type StreamEvent =
  | { type: "ready"; cursor: string }
  | { type: "task.created" | "task.updated"; cursor: string; task: Task }
  | { type: "task.deleted"; cursor: string; id: number }
  | { type: "list.created" | "list.updated"; cursor: string; list: List }
  | { type: "list.deleted"; cursor: string; list_id: number }
  | ({ type: "reminder" } & Reminder)
  /** The server could not read the feed (its database is down): the stream ends and reconnects by itself. */
  | { type: "unavailable"; cursor: string };

export interface SubscribeOptions {
  /** Called for every event, in order; each change once. */
  onEvent?: (event: StreamEvent) => void;
  /**
   * Called once for each reminder that fires, after `onEvent` has had the
   * event (and the `task.updated` before it): show a notification here.
   * A stream resuming with Last-Event-ID gets a reminder it missed too.
   */
  onReminder?: (reminder: Reminder) => void;
  /**
   * Called when the stream stops for good: a 401 after a token refresh, or
   * a 4xx the server will answer again (a cursor of another user is a 422, one
   * older than the retained history a 410: sync again without `since`).
   * Network failures and server restarts are not errors: the stream reconnects.
   */
  onError?: (error: unknown) => void;
  /** Called when a connection opens (after each reconnect too). */
  onOpen?: () => void;
  /** Resume after this cursor (from `changes()` or an earlier stream). */
  since?: string;
  /** Ends the stream. `close()` on the result does the same. */
  signal?: AbortSignal;
  /** The first reconnect's delay in ms (default 1000, doubling to 30 s). */
  retryMs?: number;
}

export interface Subscription {
  /** Ends the stream; no more events are delivered. */
  close(): void;
  /** The last cursor delivered: where a new subscription would resume. */
  readonly cursor: string | undefined;
  /** Settles when the stream has ended (closed, or stopped by an error). */
  readonly done: Promise<void>;
}

export interface StreamTarget {
  url: string;
  fetch: typeof fetch;
  getToken: (options: { forceRefresh: boolean }) => string | Promise<string>;
}

const maxRetryMs = 30_000;

/**
 * subscribe reads the event stream with fetch rather than EventSource,
 * which cannot send an Authorization header. It resumes with Last-Event-ID
 * after every reconnect, so that the server sends what was missed first:
 * no gap and no duplicate. A token-expired event or a 401 fetches a fresh
 * token (`forceRefresh: true`) and reconnects at once.
 */
export function subscribe(target: StreamTarget, options: SubscribeOptions): Subscription {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let cursor = options.since;
  const base = options.retryMs ?? 1000;

  async function run(): Promise<void> {
    let delay = base;
    let refresh = false;
    let unauthorised = 0;
    while (!abort.signal.aborted) {
      let outcome: "expired" | "ended";
      try {
        const token = await target.getToken({ forceRefresh: refresh });
        refresh = false;
        const headers: Record<string, string> = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
        if (cursor) headers["Last-Event-ID"] = cursor;
        const res = await target.fetch(target.url, { headers, signal: abort.signal, cache: "no-store" });
        if (res.status === 401 && unauthorised === 0) {
          await res.body?.cancel();
          unauthorised++;
          refresh = true;
          continue;
        }
        if (res.status === 429 || res.status === 503) {
          const after = Number(res.headers.get("Retry-After"));
          await res.body?.cancel();
          await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : delay, abort.signal);
          delay = Math.min(delay * 2, maxRetryMs);
          continue;
        }
        if (!res.ok || !res.body) {
          if (res.status >= 500) throw new Retry();
          throw await problemFrom(res);
        }
        unauthorised = 0;
        delay = base;
        options.onOpen?.();
        outcome = await read(res.body, (event) => {
          if (event.cursor) cursor = event.cursor;
          options.onEvent?.(event);
          if (event.type === "reminder") {
            const { type: _, ...reminder } = event;
            options.onReminder?.(reminder);
          }
        });
      } catch (error) {
        if (abort.signal.aborted) return;
        if (!(error instanceof Retry) && !isNetworkError(error)) {
          options.onError?.(error);
          return;
        }
        outcome = "ended";
      }
      if (outcome === "expired") {
        refresh = true;
        continue;
      }
      await sleep(delay, abort.signal);
      delay = Math.min(delay * 2, maxRetryMs);
    }
  }

  const done = run().finally(() => options.signal?.removeEventListener("abort", onAbort));
  return {
    close: () => abort.abort(),
    get cursor() {
      return cursor;
    },
    done,
  };
}

/** Retry marks a failure the stream reconnects after (a 5xx, a dropped connection). */
class Retry extends Error {}

function isNetworkError(error: unknown): boolean {
  // fetch rejects with a TypeError when the connection fails or drops.
  return error instanceof TypeError || error instanceof Retry;
}

// read parses the text/event-stream body (the WHATWG format: fields up to
// a blank line, comments start with ':') and hands each event on, until
// the body ends ("ended") or the server says the token expired.
async function read(body: ReadableStream<Uint8Array>, deliver: (event: StreamEvent) => void): Promise<"expired" | "ended"> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let type = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "ended";
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (type === "token-expired") return "expired";
          if (data.length > 0) {
            deliver({ ...(JSON.parse(data.join("\n")) as object), type: type || "message" } as StreamEvent);
          }
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
