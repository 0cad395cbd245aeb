import type { components } from "./schema.js";
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
export type StreamEvent = {
    type: "ready";
    cursor: string;
} | {
    type: "task.created" | "task.updated";
    cursor: string;
    task: Task;
} | {
    type: "task.deleted";
    cursor: string;
    id: number;
} | {
    type: "list.created" | "list.updated";
    cursor: string;
    list: List;
} | {
    type: "list.deleted";
    cursor: string;
    list_id: number;
} | ({
    type: "reminder";
} & Reminder)
/** The server could not read the feed (its database is down): the stream ends and reconnects by itself. */
 | {
    type: "unavailable";
    cursor: string;
};
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
    getToken: (options: {
        forceRefresh: boolean;
    }) => string | Promise<string>;
}
/**
 * subscribe reads the event stream with fetch rather than EventSource,
 * which cannot send an Authorization header. It resumes with Last-Event-ID
 * after every reconnect, so that the server sends what was missed first:
 * no gap and no duplicate. A token-expired event or a 401 fetches a fresh
 * token (`forceRefresh: true`) and reconnects at once.
 */
export declare function subscribe(target: StreamTarget, options: SubscribeOptions): Subscription;
export {};
