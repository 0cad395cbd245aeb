import type { components, operations } from "./schema.js";
import { problemFrom } from "./errors.js";
import { subscribe, type SubscribeOptions, type Subscription } from "./events.js";

export type Task = components["schemas"]["Task"];

/**
 * Writable drops the members a request body may carry but the API ignores:
 * the document lists a task's read-only fields (`id`, `user_id`, `version`,
 * …) in the bodies as `unknown`, so that a client may send back what it
 * read. Left in, they would fill autocomplete with fields that do nothing.
 */
type Writable<T> = { [K in keyof T as unknown extends T[K] ? never : K]: T[K] };

// Interfaces rather than aliases, so that editors and error messages show
// "TaskCreate" and its fields instead of the Writable<…> they are made of.

/** The body of a create or a replace (PUT): `title` required, absent fields get defaults. */
export interface TaskCreate extends Writable<components["schemas"]["TaskCreate"]> {}
/** The body of a PATCH: only the fields sent change; `null` clears. */
export interface TaskPatch extends Writable<components["schemas"]["TaskPatch"]> {}
export type TaskStats = components["schemas"]["Stats"];
export type ChangePage = components["schemas"]["ChangePage"];
export type Change = components["schemas"]["Change"];
/** A list of tasks, with its counts. */
export type List = components["schemas"]["List"];
/** The body of a list create: `name` required. */
export interface ListCreate extends Writable<components["schemas"]["ListCreate"]> {}
/** The body of a list PATCH: only the fields sent change. */
export interface ListPatch extends Writable<components["schemas"]["ListPatch"]> {}
/** Where a move files a task: each member optional; `after_id: null` is first. */
export type TaskMove = components["schemas"]["TaskMove"];
export type Priority = components["schemas"]["Priority"];
export type Recurrence = components["schemas"]["Recurrence"];
/** Filters, sort and page of the list. */
export type ListQuery = NonNullable<operations["listTasks"]["parameters"]["query"]>;

/** How the client gets a bearer token (Better Auth's live 15 minutes). */
export type GetToken = (options: { forceRefresh: boolean }) => string | Promise<string>;

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
export function etagOf(task: Pick<Task, "id" | "version">): string {
  return `"${task.id}-${task.version}"`;
}

export type TodoClient = ReturnType<typeof createTodoClient>;

/** createTodoClient returns the API's operations for one signed-in user. */
export function createTodoClient(options: ClientOptions) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl.replace(/\/+$/, "");
  const tasksPath = `/api/${encodeURIComponent(options.userId)}/tasks`;

  interface Call {
    query?: URLSearchParams;
    body?: unknown;
    headers?: Record<string, string | undefined>;
    signal?: AbortSignal;
  }

  // send makes one API call with a fresh token, retrying once on 401, and
  // throws an ApiError for anything but a 2xx or a 304.
  async function send(method: string, path: string, call: Call = {}): Promise<Response> {
    const query = call.query?.toString();
    const url = `${base}${path}${query ? `?${query}` : ""}`;
    const headers: Record<string, string> = { Accept: "application/json" };
    for (const [k, v] of Object.entries(call.headers ?? {})) {
      if (v !== undefined) headers[k] = v;
    }
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);

    for (let attempt = 0; ; attempt++) {
      const token = await options.getToken({ forceRefresh: attempt > 0 });
      const res = await doFetch(url, {
        method,
        headers: { ...headers, Authorization: `Bearer ${token}` },
        body,
        signal: call.signal,
      });
      // A 401 is answered before the request is acted on, so resending it,
      // even a POST, cannot do anything twice.
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        continue;
      }
      if (res.ok || res.status === 304) return res;
      throw await problemFrom(res);
    }
  }

  async function versioned(res: Response): Promise<Versioned> {
    const task = (await res.json()) as Task;
    return { task, etag: res.headers.get("ETag") ?? etagOf(task) };
  }

  const taskPath = (id: number) => `${tasksPath}/${encodeURIComponent(String(id))}`;
  const listsPath = `/api/${encodeURIComponent(options.userId)}/lists`;
  const listPath = (id: number) => `${listsPath}/${encodeURIComponent(String(id))}`;

  async function versionedList(res: Response): Promise<VersionedList> {
    const list = (await res.json()) as List;
    return { list, etag: res.headers.get("ETag") ?? "" };
  }

  return {
    /** One page of tasks, filtered and sorted. */
    async listTasks(query: ListQuery = {}, init: { signal?: AbortSignal } = {}): Promise<TaskPage> {
      const res = await send("GET", tasksPath, { query: listParams(query), signal: init.signal });
      const links = parseLinks(res.headers.get("Link"));
      return {
        tasks: (await res.json()) as Task[],
        total: Number(res.headers.get("X-Total-Count") ?? "0"),
        next: links.next ?? null,
        prev: links.prev ?? null,
      };
    },

    /**
     * One task. With `ifNoneMatch` (an ETag you hold), resolves to null when
     * the task has not changed (304).
     */
    async getTask(id: number, init: { ifNoneMatch?: string; signal?: AbortSignal } = {}): Promise<Versioned | null> {
      const res = await send("GET", taskPath(id), { headers: { "If-None-Match": init.ifNoneMatch }, signal: init.signal });
      return res.status === 304 ? null : versioned(res);
    },

    /**
     * Creates a task. An `idempotencyKey` (a UUID per user action, kept
     * across retries) makes a retried create answer the first task instead
     * of making a second one.
     */
    async createTask(body: TaskCreate, init: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<Versioned> {
      const res = await send("POST", tasksPath, {
        body,
        headers: { "Idempotency-Key": init.idempotencyKey },
        signal: init.signal,
      });
      return versioned(res);
    },

    /** Changes the fields given; `null` clears a field. */
    async updateTask(id: number, patch: TaskPatch, init: WriteOptions = {}): Promise<Versioned> {
      return versioned(await send("PATCH", taskPath(id), { body: patch, headers: { "If-Match": init.ifMatch }, signal: init.signal }));
    },

    /** Replaces the editable fields; those absent get their defaults. */
    async replaceTask(id: number, body: TaskCreate, init: WriteOptions = {}): Promise<Versioned> {
      return versioned(await send("PUT", taskPath(id), { body, headers: { "If-Match": init.ifMatch }, signal: init.signal }));
    },

    /**
     * Flips `completed`, or sets it when `completed` is given — use that for
     * optimistic UIs, so that a retried request cannot flip the task back.
     */
    async toggleTask(id: number, init: WriteOptions & { completed?: boolean } = {}): Promise<Versioned> {
      return versioned(
        await send("PATCH", `${taskPath(id)}/toggle`, {
          body: init.completed === undefined ? undefined : { completed: init.completed },
          headers: { "If-Match": init.ifMatch },
          signal: init.signal,
        }),
      );
    },

    async deleteTask(id: number, init: WriteOptions = {}): Promise<void> {
      const res = await send("DELETE", taskPath(id), { headers: { "If-Match": init.ifMatch }, signal: init.signal });
      await res.body?.cancel();
    },

    /** Deletes every completed task; resolves to how many. */
    async clearCompleted(init: { signal?: AbortSignal } = {}): Promise<number> {
      const res = await send("DELETE", tasksPath, { query: new URLSearchParams({ status: "completed" }), signal: init.signal });
      return ((await res.json()) as { deleted: number }).deleted;
    },

    /**
     * Files a task, with its subtasks, into a list, under a parent and
     * after a sibling (`after_id: null`: first) in one step.
     */
    async moveTask(id: number, move: TaskMove, init: WriteOptions = {}): Promise<Versioned> {
      return versioned(await send("POST", `${taskPath(id)}/move`, { body: move, headers: { "If-Match": init.ifMatch }, signal: init.signal }));
    },


    /**
     * One page of the change feed after `since` (a cursor from an earlier
     * page; none for a full sync). Apply the changes in order (tasks and
     * lists, told apart by `task`/`id` and `list`/`list_id`), keep
     * `cursor`, and call again at once while `has_more` is true. An
     * `ApiError` with status 410 means the cursor is older than the history
     * the server keeps: drop the local copy and start over without `since`.
     */
    async changes(init: { since?: string; limit?: number; signal?: AbortSignal } = {}): Promise<ChangePage> {
      const query = new URLSearchParams();
      if (init.since) query.set("since", init.since);
      if (init.limit !== undefined) query.set("limit", String(init.limit));
      return (await (await send("GET", `${tasksPath}/changes`, { query, signal: init.signal })).json()) as ChangePage;
    },

    /**
     * Opens the user's event stream: every change of their tasks and lists,
     * from any client, as it commits. It reconnects by itself and resumes
     * where it left off; pass `since` (a cursor from `changes()`) to start
     * after a sync, so that nothing falls between the two.
     */
    subscribe(init: SubscribeOptions): Subscription {
      return subscribe({ url: `${base}/api/${encodeURIComponent(options.userId)}/events`, fetch: doFetch, getToken: options.getToken }, init);
    },

    /** Counts; `tz` (an IANA zone) says which day is today; `list` (an id or "inbox") narrows them to one list. */
    async getStats(init: { tz?: string; list?: number | "inbox"; signal?: AbortSignal } = {}): Promise<TaskStats> {
      const query = new URLSearchParams();
      if (init.tz) query.set("tz", init.tz);
      if (init.list !== undefined) query.set("list", String(init.list));
      return (await (await send("GET", `${tasksPath}/stats`, { query, signal: init.signal })).json()) as TaskStats;
    },

    /** Every list of the user, in manual order, with task counts. */
    async listLists(init: { signal?: AbortSignal } = {}): Promise<List[]> {
      return (await (await send("GET", listsPath, { signal: init.signal })).json()) as List[];
    },

    /** One list; with `ifNoneMatch`, null when it has not changed (304). */
    async getList(id: number, init: { ifNoneMatch?: string; signal?: AbortSignal } = {}): Promise<VersionedList | null> {
      const res = await send("GET", listPath(id), { headers: { "If-None-Match": init.ifNoneMatch }, signal: init.signal });
      return res.status === 304 ? null : versionedList(res);
    },

    /** Creates a list (first in order). A name taken already, ignoring case, is a 409 ApiError. */
    async createList(body: ListCreate, init: { signal?: AbortSignal } = {}): Promise<VersionedList> {
      return versionedList(await send("POST", listsPath, { body, signal: init.signal }));
    },

    /** Renames or recolors a list. */
    async updateList(id: number, patch: ListPatch, init: WriteOptions = {}): Promise<VersionedList> {
      return versionedList(await send("PATCH", listPath(id), { body: patch, headers: { "If-Match": init.ifMatch }, signal: init.signal }));
    },

    /**
     * Deletes a list. One that holds tasks is a 409 ApiError unless `tasks`
     * says what happens to them: "delete" them too, or move them to the "inbox".
     */
    async deleteList(id: number, init: WriteOptions & { tasks?: "delete" | "inbox" } = {}): Promise<void> {
      const query = new URLSearchParams(init.tasks ? { tasks: init.tasks } : {});
      const res = await send("DELETE", listPath(id), { query, headers: { "If-Match": init.ifMatch }, signal: init.signal });
      await res.body?.cancel();
    },

    /** Puts a list right after another (`afterId`), or first (null). */
    async moveList(id: number, afterId: number | null, init: WriteOptions = {}): Promise<VersionedList> {
      return versionedList(
        await send("POST", `${listPath(id)}/move`, { body: { after_id: afterId }, headers: { "If-Match": init.ifMatch }, signal: init.signal }),
      );
    },
  };
}

// listParams serialises the list query the way the document describes it:
// priority as one comma-separated value, tag repeated.
function listParams(query: ListQuery): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (key === "tag" && Array.isArray(value)) {
      for (const tag of value) params.append("tag", String(tag));
    } else if (Array.isArray(value)) {
      params.set(key, value.join(","));
    } else {
      params.set(key, String(value));
    }
  }
  return params;
}

// parseLinks reads an RFC 8288 Link header into rel → list query.
function parseLinks(header: string | null): Record<string, ListQuery> {
  const out: Record<string, ListQuery> = {};
  for (const [, target = "", rel = ""] of (header ?? "").matchAll(/<([^>]*)>\s*;\s*rel="?([^";,]+)"?/g)) {
    out[rel] = listQueryOf(new URLSearchParams(target.split("?")[1] ?? ""));
  }
  return out;
}

// listQueryOf is listParams backwards.
function listQueryOf(params: URLSearchParams): ListQuery {
  const q: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    const value = params.get(key) ?? "";
    if (key === "tag") q.tag = params.getAll("tag");
    else if (key === "priority") q.priority = value.split(",");
    else if (key === "limit" || key === "offset") q[key] = Number(value);
    else if (key === "overdue") q.overdue = value === "true";
    else q[key] = value;
  }
  return q as ListQuery;
}
