import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ApiError, createTodoClient, etagOf, type GetToken } from "../src/index.js";
import { startTodoAPI, type TodoAPI } from "./todo-api.js";

let api: TodoAPI;
beforeAll(async () => {
  api = await startTodoAPI();
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

/** A getToken that mints a fresh token for user and counts its calls. */
function tokens(user: string) {
  const calls: boolean[] = [];
  const getToken: GetToken = ({ forceRefresh }) => {
    calls.push(forceRefresh);
    return api.token(user);
  };
  return { calls, getToken };
}

describe("against the todo-api binary", () => {
  it("creates, reads, lists, edits with If-Match, toggles and deletes", async () => {
    const { getToken } = tokens("alice");
    const client = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken });

    const created = await client.createTask({ title: "Buy milk", priority: "high", tags: ["Home"] });
    expect(created.task).toMatchObject({ title: "Buy milk", priority: "high", tags: ["home"], completed: false, version: 1 });
    expect(created.etag).toBe(`"${created.task.id}-1"`);
    expect(etagOf(created.task)).toBe(created.etag);

    const read = await client.getTask(created.task.id);
    expect(read).toEqual(created);

    const page = await client.listTasks({ status: "pending", limit: 10 });
    expect(page.total).toBeGreaterThanOrEqual(1);
    expect(page.tasks.map((t) => t.id)).toContain(created.task.id);

    const edited = await client.updateTask(created.task.id, { title: "Buy oat milk", description: null }, { ifMatch: created.etag });
    expect(edited.task).toMatchObject({ title: "Buy oat milk", description: null, version: 2 });
    expect(edited.etag).toBe(`"${created.task.id}-2"`);

    const toggled = await client.toggleTask(created.task.id, { completed: true, ifMatch: edited.etag });
    expect(toggled.task.completed).toBe(true);
    expect(toggled.task.completed_at).not.toBeNull();
    const again = await client.toggleTask(created.task.id, { completed: true });
    expect(again.task.completed_at).toBe(toggled.task.completed_at);
    const flipped = await client.toggleTask(created.task.id);
    expect(flipped.task.completed).toBe(false);

    const replaced = await client.replaceTask(created.task.id, { title: "Replaced" });
    expect(replaced.task).toMatchObject({ title: "Replaced", priority: "medium", tags: [] });

    await client.deleteTask(created.task.id, { ifMatch: replaced.etag });
    const gone = await client.getTask(created.task.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ApiError);
    expect((gone as ApiError).status).toBe(404);
    expect((gone as ApiError).problem.detail).toBe("No task with this id.");
  });

  it("asks getToken for a token before every request", async () => {
    const { calls, getToken } = tokens("carol");
    const client = createTodoClient({ baseUrl: api.baseUrl, userId: "carol", getToken });
    const { task } = await client.createTask({ title: "one" });
    await client.getTask(task.id);
    await client.listTasks();
    expect(calls).toEqual([false, false, false]);
  });

  it("retries once with a fresh token after a 401", async () => {
    const calls: boolean[] = [];
    const getToken: GetToken = ({ forceRefresh }) => {
      calls.push(forceRefresh);
      return forceRefresh ? api.token("dave") : api.token("dave", "-1h"); // the cached one has expired
    };
    const client = createTodoClient({ baseUrl: api.baseUrl, userId: "dave", getToken });
    const { task } = await client.createTask({ title: "made after a refresh" });
    expect(task.user_id).toBe("dave");
    expect(calls).toEqual([false, true]);
    // The POST was sent twice but acted on once.
    expect((await client.listTasks()).total).toBe(1);
  });

  it("throws the 401 when the fresh token is refused too", async () => {
    const calls: boolean[] = [];
    const client = createTodoClient({
      baseUrl: api.baseUrl,
      userId: "erin",
      getToken: ({ forceRefresh }) => (calls.push(forceRefresh), "not.a.token"),
    });
    const err = await client.listTasks().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).problem.type).toBe("about:blank");
    expect(calls).toEqual([false, true]);
  });

  it("surfaces a 422 as typed problem details naming each field", async () => {
    const client = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken: tokens("alice").getToken });
    const err = (await client.createTask({ title: "", priority: "urgent" as "high" }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.fieldErrors.map((f) => f.field)).toEqual(["title", "priority"]);
    expect(err.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(err.message).toContain("422");
  });

  it("answers 404 for another user's task, as for a missing one", async () => {
    const alice = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken: tokens("alice").getToken });
    const bob = createTodoClient({ baseUrl: api.baseUrl, userId: "bob", getToken: tokens("bob").getToken });
    const { task } = await alice.createTask({ title: "private" });
    const theirs = (await bob.getTask(task.id).catch((e: unknown) => e)) as ApiError;
    const missing = (await bob.getTask(987654321).catch((e: unknown) => e)) as ApiError;
    expect(theirs.status).toBe(404);
    expect(theirs.problem).toEqual(missing.problem);
    // And a client built for the wrong user gets a 403.
    const wrong = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken: tokens("bob").getToken });
    expect(((await wrong.listTasks().catch((e: unknown) => e)) as ApiError).status).toBe(403);
  });

  describe("conditional requests, idempotency, filters, stats and clear-completed", () => {
    it("refuses a stale If-Match with 412 and changes nothing", async () => {
      const client = createTodoClient({ baseUrl: api.baseUrl, userId: "frank", getToken: tokens("frank").getToken });
      const first = await client.createTask({ title: "v1" });
      await client.updateTask(first.task.id, { title: "v2" }, { ifMatch: first.etag });
      const err = (await client.updateTask(first.task.id, { title: "lost" }, { ifMatch: first.etag }).catch((e: unknown) => e)) as ApiError;
      expect(err.isPreconditionFailed).toBe(true);
      expect((await client.getTask(first.task.id))?.task.title).toBe("v2");
    });

    it("answers null for an unchanged task with If-None-Match", async () => {
      const client = createTodoClient({ baseUrl: api.baseUrl, userId: "frank", getToken: tokens("frank").getToken });
      const { task, etag } = await client.createTask({ title: "cached" });
      expect(await client.getTask(task.id, { ifNoneMatch: etag })).toBeNull();
    });

    it("replays a create with the same Idempotency-Key", async () => {
      const client = createTodoClient({ baseUrl: api.baseUrl, userId: "gina", getToken: tokens("gina").getToken });
      const key = crypto.randomUUID();
      const a = await client.createTask({ title: "once" }, { idempotencyKey: key });
      const b = await client.createTask({ title: "once" }, { idempotencyKey: key });
      expect(b.task).toEqual(a.task);
      expect((await client.listTasks()).total).toBe(1);
    });

    it("filters, pages with Link, counts and clears completed tasks", async () => {
      const client = createTodoClient({ baseUrl: api.baseUrl, userId: "hank", getToken: tokens("hank").getToken });
      for (const [i, tags] of [["home"], ["home", "errands"], ["work"]].entries()) {
        const { task } = await client.createTask({ title: `t${i}`, tags, priority: i === 2 ? "high" : "low" });
        if (i === 0) await client.toggleTask(task.id, { completed: true });
      }
      const home = await client.listTasks({ tag: ["home"], sort: "title", order: "asc", limit: 1 });
      expect(home.total).toBe(2);
      expect(home.tasks[0]?.title).toBe("t0");
      expect(home.next).toMatchObject({ tag: ["home"], limit: 1, offset: 1 });
      const second = await client.listTasks(home.next ?? {});
      expect(second.tasks[0]?.title).toBe("t1");
      expect((await client.listTasks({ priority: ["high"] })).tasks.map((t) => t.title)).toEqual(["t2"]);
      expect(await client.getStats()).toMatchObject({ total: 3, completed: 1, pending: 2 });
      expect(await client.clearCompleted()).toBe(1);
      expect((await client.listTasks()).total).toBe(2);
    });

    it("syncs through the change feed: a full sync, then only what changed", async () => {
      const client = createTodoClient({ baseUrl: api.baseUrl, userId: "feed", getToken: tokens("feed").getToken });
      const a = (await client.createTask({ title: "a" })).task;
      const b = (await client.createTask({ title: "b" })).task;
      const full = await client.changes();
      expect(full.changes.map((c) => ("task" in c ? c.task.id : -1))).toEqual([a.id, b.id]);
      expect(full.has_more).toBe(false);

      await client.updateTask(a.id, { title: "a2" });
      await client.deleteTask(b.id);
      const next = await client.changes({ since: full.cursor });
      expect(next.changes).toMatchObject([
        { op: "upsert", task: { id: a.id, title: "a2", version: 2 } },
        { op: "delete", id: b.id },
      ]);
      expect((await client.changes({ since: next.cursor })).changes).toEqual([]);
      const list = (await client.createList({ name: "Feed" })).list;
      expect((await client.changes({ since: next.cursor })).changes).toMatchObject([
        { op: "upsert", list: { id: list.id, name: "Feed", version: 1 } },
      ]);
      const foreign = await createTodoClient({ baseUrl: api.baseUrl, userId: "other", getToken: tokens("other").getToken })
        .changes({ since: next.cursor })
        .catch((e: unknown) => e);
      expect((foreign as ApiError).status).toBe(422);
    });
  });
});

describe("lists, subtasks and manual order", () => {
  it("creates, orders, fills, renames and deletes lists", async () => {
    const { getToken } = tokens("lisa");
    const client = createTodoClient({ baseUrl: api.baseUrl, userId: "lisa", getToken });

    const groceries = await client.createList({ name: "Groceries", color: "#2F9E44" });
    expect(groceries.list).toMatchObject({ name: "Groceries", color: "#2f9e44", task_count: 0, version: 1 });
    const work = await client.createList({ name: "Work" });
    expect((await client.listLists()).map((l) => l.name)).toEqual(["Work", "Groceries"]);
    await client.moveList(work.list.id, groceries.list.id);
    expect((await client.listLists()).map((l) => l.name)).toEqual(["Groceries", "Work"]);

    const dup = await client.createList({ name: "GROCERIES" }).catch((e: unknown) => e);
    expect((dup as ApiError).status).toBe(409);
    expect((dup as ApiError).problem.errors?.[0]?.field).toBe("name");

    const milk = await client.createTask({ title: "Milk", list_id: groceries.list.id });
    const oat = await client.createTask({ title: "Oat", parent_id: milk.task.id });
    expect(oat.task.list_id).toBe(groceries.list.id);
    const bread = await client.createTask({ title: "Bread", list_id: groceries.list.id });
    const page = await client.listTasks({ list: String(groceries.list.id), parent: "none", sort: "position" });
    expect(page.tasks.map((t) => t.title)).toEqual(["Bread", "Milk"]);
    const moved = await client.moveTask(bread.task.id, { after_id: milk.task.id });
    expect(moved.task.version).toBe(2);
    expect((await client.getStats({ list: groceries.list.id })).total).toBe(3);

    const renamed = await client.updateList(groceries.list.id, { name: "Shop" });
    expect(renamed.list).toMatchObject({ name: "Shop", task_count: 3, pending_count: 3, version: 2 });
    const full = await client.deleteList(groceries.list.id).catch((e: unknown) => e);
    expect((full as ApiError).status).toBe(409);
    await client.deleteList(groceries.list.id, { tasks: "inbox" });
    const inbox = await client.listTasks({ list: "inbox" });
    expect(inbox.tasks.map((t) => t.title).sort()).toEqual(["Bread", "Milk", "Oat"]);
  });
});
