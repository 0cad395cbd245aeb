import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTodoClient, type GetToken, type Reminder, type StreamEvent, type Subscription } from "../src/index.js";
import { startTodoAPI, type TodoAPI } from "./todo-api.js";

let api: TodoAPI;
beforeAll(async () => {
  api = await startTodoAPI();
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

/** Collects a subscription's events and waits for them. */
function collect() {
  const events: StreamEvent[] = [];
  const waiters: Array<() => void> = [];
  return {
    events,
    onEvent(e: StreamEvent) {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    },
    /** Resolves when at least n events arrived; rejects after ms. */
    async until(n: number, ms = 8000) {
      const deadline = Date.now() + ms;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`${events.length} of ${n} events: ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise<void>((done) => {
          waiters.push(done);
          setTimeout(done, 100);
        });
      }
    },
  };
}

const idOf = (e: StreamEvent) => ("task" in e ? e.task.id : "id" in e ? e.id : undefined);

describe("subscribe", () => {
  it("streams the user's changes live, and none of another user's", async () => {
    const alice = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken: () => api.token("alice") });
    const bob = createTodoClient({ baseUrl: api.baseUrl, userId: "me", getToken: () => api.token("bob") });
    const mine = collect();
    const theirs = collect();
    const subs: Subscription[] = [alice.subscribe({ onEvent: mine.onEvent }), bob.subscribe({ onEvent: theirs.onEvent })];
    try {
      await mine.until(1);
      await theirs.until(1);
      expect(mine.events[0]?.type).toBe("ready");

      const created = await alice.createTask({ title: "Buy milk" });
      const edited = await alice.updateTask(created.task.id, { title: "Buy oat milk" });
      await alice.updateTask(created.task.id, { title: "Buy oat milk" }); // a no-op: no event
      await alice.deleteTask(created.task.id);
      await mine.until(4);
      await new Promise((done) => setTimeout(done, 300));
      expect(mine.events.map((e) => e.type)).toEqual(["ready", "task.created", "task.updated", "task.deleted"]);
      expect(mine.events.slice(1).map(idOf)).toEqual([created.task.id, created.task.id, created.task.id]);
      const updated = mine.events[2];
      expect(updated?.type === "task.updated" && updated.task.version).toBe(edited.task.version);
      expect(subs[0]?.cursor).toBe(mine.events[3]?.cursor);
      expect(theirs.events.map((e) => e.type)).toEqual(["ready"]);
    } finally {
      for (const s of subs) s.close();
      await Promise.all(subs.map((s) => s.done));
    }
  });

  it("resumes after its token expires with a fresh one: every change once, none missed", async () => {
    const refreshes: boolean[] = [];
    // The first token lives two seconds; the stream ends with token-expired
    // and the client asks for a fresh one.
    const getToken: GetToken = ({ forceRefresh }) => {
      refreshes.push(forceRefresh);
      return api.token("carol", refreshes.length === 1 ? "2s" : "1h");
    };
    const carol = createTodoClient({ baseUrl: api.baseUrl, userId: "carol", getToken });
    const writer = createTodoClient({ baseUrl: api.baseUrl, userId: "carol", getToken: () => api.token("carol") });
    const got = collect();
    let opens = 0;
    const sub = carol.subscribe({ onEvent: got.onEvent, onOpen: () => opens++ });
    try {
      await got.until(1);
      const before = await writer.createTask({ title: "before the expiry" });
      await got.until(2);
      await new Promise((done) => setTimeout(done, 2500)); // past the first token's exp
      const after = await writer.createTask({ title: "after the expiry" });
      await got.until(3);
      await new Promise((done) => setTimeout(done, 300));
      expect(got.events.map((e) => e.type)).toEqual(["ready", "task.created", "task.created"]);
      expect(got.events.slice(1).map(idOf)).toEqual([before.task.id, after.task.id]);
      expect(opens).toBe(2);
      expect(refreshes).toContain(true);
    } finally {
      sub.close();
      await sub.done;
    }
  });

  it("hands each reminder that fires to onReminder once, typed, and none of another user's", async () => {
    const erin = createTodoClient({ baseUrl: api.baseUrl, userId: "erin", getToken: () => api.token("erin") });
    const frank = createTodoClient({ baseUrl: api.baseUrl, userId: "frank", getToken: () => api.token("frank") });
    const all = collect();
    const reminders: Reminder[] = [];
    const franks: Reminder[] = [];
    let frankOpen = false;
    const subs = [
      erin.subscribe({ onEvent: all.onEvent, onReminder: (r) => reminders.push(r) }),
      // onReminder alone, without onEvent:
      frank.subscribe({ onReminder: (r) => franks.push(r), onOpen: () => (frankOpen = true) }),
    ];
    try {
      await all.until(1);
      const remindAt = new Date(Date.now() + 2000);
      const { task } = await erin.createTask({ title: "Call the plumber", remind_at: remindAt.toISOString() });
      await frank.createTask({ title: "frank's, due at the same time", remind_at: remindAt.toISOString() });
      // created, then the firing: task.updated and reminder at one cursor.
      await all.until(4, 6000);
      await new Promise((done) => setTimeout(done, 300));
      expect(all.events.map((e) => e.type)).toEqual(["ready", "task.created", "task.updated", "reminder"]);
      expect(reminders).toHaveLength(1);
      const [r] = reminders;
      expect(r?.task.id).toBe(task.id);
      expect(r?.late).toBe(false);
      expect(r?.cursor).toBe(all.events[2]?.cursor);
      expect(r?.task.reminded_at).toBeTruthy();
      const firedAfter = Date.parse(r!.task.reminded_at!) - remindAt.getTime();
      expect(firedAfter).toBeGreaterThanOrEqual(0);
      expect(firedAfter).toBeLessThan(1500);
      expect(frankOpen).toBe(true);
      expect(franks.map((f) => f.task.title)).toEqual(["frank's, due at the same time"]);
    } finally {
      for (const s of subs) s.close();
      await Promise.all(subs.map((s) => s.done));
    }
  });

  it("stops with an ApiError for a cursor of another user", async () => {
    const alice = createTodoClient({ baseUrl: api.baseUrl, userId: "alice", getToken: () => api.token("alice") });
    const dave = createTodoClient({ baseUrl: api.baseUrl, userId: "dave", getToken: () => api.token("dave") });
    await alice.createTask({ title: "for a cursor" });
    const { cursor } = await alice.changes();
    const errors: unknown[] = [];
    const sub = dave.subscribe({ onEvent: () => {}, onError: (e) => errors.push(e), since: cursor });
    await sub.done;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ status: 422 });
  });
});
