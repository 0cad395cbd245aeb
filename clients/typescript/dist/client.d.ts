import type { components, operations } from "./schema.js";
import { type SubscribeOptions, type Subscription } from "./events.js";
export type Task = components["schemas"]["Task"];
/**
 * Writable drops the members a request body may carry but the API ignores:
 * the document lists a task's read-only fields (`id`, `user_id`, `version`,
 * …) in the bodies as `unknown`, so that a client may send back what it
 * read. Left in, they would fill autocomplete with fields that do nothing.
 */
type Writable<T> = {
    [K in keyof T as unknown extends T[K] ? never : K]: T[K];
};
/** The body of a create or a replace (PUT): `title` required, absent fields get defaults. */
export interface TaskCreate extends Writable<components["schemas"]["TaskCreate"]> {
}
/** The body of a PATCH: only the fields sent change; `null` clears. */
export interface TaskPatch extends Writable<components["schemas"]["TaskPatch"]> {
}
export type TaskStats = components["schemas"]["Stats"];
export type ChangePage = components["schemas"]["ChangePage"];
export type Change = components["schemas"]["Change"];
/** A list of tasks, with its counts. */
export type List = components["schemas"]["List"];
/** The body of a list create: `name` required. */
export interface ListCreate extends Writable<components["schemas"]["ListCreate"]> {
}
/** The body of a list PATCH: only the fields sent change. */
export interface ListPatch extends Writable<components["schemas"]["ListPatch"]> {
}
/** Where a move files a task: each member optional; `after_id: null` is first. */
export type TaskMove = components["schemas"]["TaskMove"];
export type Priority = components["schemas"]["Priority"];
export type Recurrence = components["schemas"]["Recurrence"];
/** Filters, sort and page of the list. */
export type ListQuery = NonNullable<operations["listTasks"]["parameters"]["query"]>;
/** How the client gets a bearer token (Better Auth's live 15 minutes). */
export type GetToken = (options: {
    forceRefresh: boolean;
}) => string | Promise<string>;
export interface ClientOptions {
    /** Where the API is, e.g. `https://api.example.com`; "" for the page's own origin. */
    baseUrl: string;
    /** The signed-in user's id: the token's `sub`. */
    userId: string;
    /**
     * Called before every request. After a 401 it is called once more with
     * `forceRefresh: true` and the request is retried with the new token;
     * a second 401 is thrown.
     */
    getToken: GetToken;
    /** Defaults to the global fetch. */
    fetch?: typeof fetch;
}
/** A task with the ETag of the version read, for If-Match on the next write. */
export interface Versioned {
    task: Task;
    etag: string;
}
export interface TaskPage {
    tasks: Task[];
    /** Tasks matching the filters across all pages (X-Total-Count). */
    total: number;
    /** The queries of the neighbouring pages (from the Link header), for listTasks; null at the ends. */
    next: ListQuery | null;
    prev: ListQuery | null;
}
/** A list with the ETag of the version read, for If-Match on the next write. */
export interface VersionedList {
    list: List;
    etag: string;
}
/** Options of the writes to one task. */
export interface WriteOptions {
    /** The ETag last read; a 412 ApiError is thrown when the task has changed since. */
    ifMatch?: string;
    signal?: AbortSignal;
}
/**
 * etagOf gives the ETag of a task as read, `"<id>-<version>"` — the list
 * carries no ETag per task, and optimistic updates of listed tasks need one.
 */
export declare function etagOf(task: Pick<Task, "id" | "version">): string;
export type TodoClient = ReturnType<typeof createTodoClient>;
/** createTodoClient returns the API's operations for one signed-in user. */
export declare function createTodoClient(options: ClientOptions): {
    /** One page of tasks, filtered and sorted. */
    listTasks(query?: ListQuery, init?: {
        signal?: AbortSignal;
    }): Promise<TaskPage>;
    /**
     * One task. With `ifNoneMatch` (an ETag you hold), resolves to null when
     * the task has not changed (304).
     */
    getTask(id: number, init?: {
        ifNoneMatch?: string;
        signal?: AbortSignal;
    }): Promise<Versioned | null>;
    /**
     * Creates a task. An `idempotencyKey` (a UUID per user action, kept
     * across retries) makes a retried create answer the first task instead
     * of making a second one.
     */
    createTask(body: TaskCreate, init?: {
        idempotencyKey?: string;
        signal?: AbortSignal;
    }): Promise<Versioned>;
    /** Changes the fields given; `null` clears a field. */
    updateTask(id: number, patch: TaskPatch, init?: WriteOptions): Promise<Versioned>;
    /** Replaces the editable fields; those absent get their defaults. */
    replaceTask(id: number, body: TaskCreate, init?: WriteOptions): Promise<Versioned>;
    /**
     * Flips `completed`, or sets it when `completed` is given — use that for
     * optimistic UIs, so that a retried request cannot flip the task back.
     */
    toggleTask(id: number, init?: WriteOptions & {
        completed?: boolean;
    }): Promise<Versioned>;
    deleteTask(id: number, init?: WriteOptions): Promise<void>;
    /** Deletes every completed task; resolves to how many. */
    clearCompleted(init?: {
        signal?: AbortSignal;
    }): Promise<number>;
    /**
     * Files a task, with its subtasks, into a list, under a parent and
     * after a sibling (`after_id: null`: first) in one step.
     */
    moveTask(id: number, move: TaskMove, init?: WriteOptions): Promise<Versioned>;
    /**
     * One page of the change feed after `since` (a cursor from an earlier
     * page; none for a full sync). Apply the changes in order (tasks and
     * lists, told apart by `task`/`id` and `list`/`list_id`), keep
     * `cursor`, and call again at once while `has_more` is true. An
     * `ApiError` with status 410 means the cursor is older than the history
     * the server keeps: drop the local copy and start over without `since`.
     */
    changes(init?: {
        since?: string;
        limit?: number;
        signal?: AbortSignal;
    }): Promise<ChangePage>;
    /**
     * Opens the user's event stream: every change of their tasks and lists,
     * from any client, as it commits. It reconnects by itself and resumes
     * where it left off; pass `since` (a cursor from `changes()`) to start
     * after a sync, so that nothing falls between the two.
     */
    subscribe(init: SubscribeOptions): Subscription;
    /** Counts; `tz` (an IANA zone) says which day is today; `list` (an id or "inbox") narrows them to one list. */
    getStats(init?: {
        tz?: string;
        list?: number | "inbox";
        signal?: AbortSignal;
    }): Promise<TaskStats>;
    /** Every list of the user, in manual order, with task counts. */
    listLists(init?: {
        signal?: AbortSignal;
    }): Promise<List[]>;
    /** One list; with `ifNoneMatch`, null when it has not changed (304). */
    getList(id: number, init?: {
        ifNoneMatch?: string;
        signal?: AbortSignal;
    }): Promise<VersionedList | null>;
    /** Creates a list (first in order). A name taken already, ignoring case, is a 409 ApiError. */
    createList(body: ListCreate, init?: {
        signal?: AbortSignal;
    }): Promise<VersionedList>;
    /** Renames or recolors a list. */
    updateList(id: number, patch: ListPatch, init?: WriteOptions): Promise<VersionedList>;
    /**
     * Deletes a list. One that holds tasks is a 409 ApiError unless `tasks`
     * says what happens to them: "delete" them too, or move them to the "inbox".
     */
    deleteList(id: number, init?: WriteOptions & {
        tasks?: "delete" | "inbox";
    }): Promise<void>;
    /** Puts a list right after another (`afterId`), or first (null). */
    moveList(id: number, afterId: number | null, init?: WriteOptions): Promise<VersionedList>;
};
export {};
