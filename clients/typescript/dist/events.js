import { problemFrom } from "./errors.js";
const maxRetryMs = 30_000;
/**
 * subscribe reads the event stream with fetch rather than EventSource,
 * which cannot send an Authorization header. It resumes with Last-Event-ID
 * after every reconnect, so that the server sends what was missed first:
 * no gap and no duplicate. A token-expired event or a 401 fetches a fresh
 * token (`forceRefresh: true`) and reconnects at once.
 */
export function subscribe(target, options) {
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let cursor = options.since;
    const base = options.retryMs ?? 1000;
    async function run() {
        let delay = base;
        let refresh = false;
        let unauthorised = 0;
        while (!abort.signal.aborted) {
            let outcome;
            try {
                const token = await target.getToken({ forceRefresh: refresh });
                refresh = false;
                const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
                if (cursor)
                    headers["Last-Event-ID"] = cursor;
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
                    if (res.status >= 500)
                        throw new Retry();
                    throw await problemFrom(res);
                }
                unauthorised = 0;
                delay = base;
                options.onOpen?.();
                outcome = await read(res.body, (event) => {
                    if (event.cursor)
                        cursor = event.cursor;
                    options.onEvent?.(event);
                    if (event.type === "reminder") {
                        const { type: _, ...reminder } = event;
                        options.onReminder?.(reminder);
                    }
                });
            }
            catch (error) {
                if (abort.signal.aborted)
                    return;
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
class Retry extends Error {
}
function isNetworkError(error) {
    // fetch rejects with a TypeError when the connection fails or drops.
    return error instanceof TypeError || error instanceof Retry;
}
// read parses the text/event-stream body (the WHATWG format: fields up to
// a blank line, comments start with ':') and hands each event on, until
// the body ends ("ended") or the server says the token expired.
async function read(body, deliver) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let type = "";
    let data = [];
    try {
        for (;;) {
            const { value, done } = await reader.read();
            if (done)
                return "ended";
            buffer += decoder.decode(value, { stream: true });
            let newline;
            while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
                const line = buffer.slice(0, newline);
                buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
                if (line === "") {
                    if (type === "token-expired")
                        return "expired";
                    if (data.length > 0) {
                        deliver({ ...JSON.parse(data.join("\n")), type: type || "message" });
                    }
                    type = "";
                    data = [];
                    continue;
                }
                if (line.startsWith(":"))
                    continue;
                const colon = line.indexOf(":");
                const field = colon < 0 ? line : line.slice(0, colon);
                const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
                if (field === "event")
                    type = text;
                else if (field === "data")
                    data.push(text);
            }
        }
    }
    finally {
        await reader.cancel().catch(() => { });
    }
}
function sleep(ms, signal) {
    return new Promise((resolve) => {
        if (signal.aborted)
            return resolve();
        const timer = setTimeout(done, ms);
        function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
        }
        signal.addEventListener("abort", done, { once: true });
    });
}
