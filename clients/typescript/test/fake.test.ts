// The parts of the client the real binary cannot show yet or at will: what
// goes on the wire for each option, and errors that are not todo-api's own.
import { describe, expect, it } from "vitest";

import { ApiError, createTodoClient } from "../src/index.js";

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that records what it is sent and answers from a list. */
function fakeFetch(...answers: Response[]) {
  const sent: Sent[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    sent.push({
      url: String(input),
      method: init.method ?? "GET",
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body as string | undefined,
    });
    const answer = answers.shift();
    if (!answer) throw new Error("no answer left");
    return answer;
  };
  return { sent, fetch: fetch as typeof globalThis.fetch };
}

const task = {
  id: 7, user_id: "a|b", title: "t", description: null, completed: false, completed_at: null, priority: "medium",
  tags: [], due_date: null, recurrence: null, version: 3, created_at: "2026-11-27T10:00:00Z", updated_at: "2026-11-27T10:00:00Z",
};
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const problem = (status: number, detail: string, extra: object = {}) =>
  new Response(JSON.stringify({ type: "about:blank", title: "T", status, detail, ...extra }), {
    status, headers: { "Content-Type": "application/problem+json", "X-Request-ID": "rid-1" },
  });

describe("on the wire", () => {
  it("escapes the user id and sends If-Match, a JSON body and the token", async () => {
    const f = fakeFetch(json(task, 200, { ETag: '"7-4"' }));
    const client = createTodoClient({ baseUrl: "https://api.example/", userId: "a|b", getToken: () => "tok", fetch: f.fetch });
    const res = await client.updateTask(7, { completed: true }, { ifMatch: '"7-3"' });
    expect(res.etag).toBe('"7-4"');
    expect(f.sent[0]).toEqual({
      url: "https://api.example/api/a%7Cb/tasks/7",
      method: "PATCH",
      headers: { Accept: "application/json", "Content-Type": "application/json", "If-Match": '"7-3"', Authorization: "Bearer tok" },
      body: '{"completed":true}',
    });
  });

  it("throws a 412 as an ApiError that says so", async () => {
    const f = fakeFetch(problem(412, "The task has changed since you read it."));
    const client = createTodoClient({ baseUrl: "", userId: "u", getToken: () => "tok", fetch: f.fetch });
    const err = (await client.deleteTask(7, { ifMatch: '"7-1"' }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.isPreconditionFailed).toBe(true);
    expect(err.problem.detail).toBe("The task has changed since you read it.");
    expect(err.requestId).toBe("rid-1");
    expect(f.sent[0]?.headers["If-Match"]).toBe('"7-1"');
  });

  it("sends Idempotency-Key on create, and no body on a plain toggle", async () => {
    const f = fakeFetch(json(task, 201, { ETag: '"7-1"' }), json(task));
    const client = createTodoClient({ baseUrl: "", userId: "u", getToken: () => "tok", fetch: f.fetch });
    await client.createTask({ title: "t" }, { idempotencyKey: "k-1" });
    await client.toggleTask(7);
    expect(f.sent[0]?.headers["Idempotency-Key"]).toBe("k-1");
    expect(f.sent[1]).toMatchObject({ url: "/api/u/tasks/7/toggle", method: "PATCH", body: undefined });
    expect(f.sent[1]?.headers["Content-Type"]).toBeUndefined();
  });

  it("serialises the list query as the document says and reads Link", async () => {
    const link = '</api/u/tasks?tag=a&tag=b&priority=low,high&limit=2&offset=2>; rel="next", </api/u/tasks?tag=a&tag=b&priority=low,high&limit=2&offset=0>; rel="prev"';
    const f = fakeFetch(json([task], 200, { "X-Total-Count": "5", Link: link }));
    const client = createTodoClient({ baseUrl: "", userId: "u", getToken: () => "tok", fetch: f.fetch });
    const page = await client.listTasks({ tag: ["a", "b"], priority: ["low", "high"], overdue: true, limit: 2 });
    expect(f.sent[0]?.url).toBe("/api/u/tasks?tag=a&tag=b&priority=low%2Chigh&overdue=true&limit=2");
    expect(page.total).toBe(5);
    expect(page.next).toEqual({ tag: ["a", "b"], priority: ["low", "high"], limit: 2, offset: 2 });
    expect(page.prev).toMatchObject({ offset: 0 });
  });

  it("turns an error page that is not a problem into one", async () => {
    const f = fakeFetch(new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway", headers: { "Content-Type": "text/html" } }));
    const client = createTodoClient({ baseUrl: "", userId: "u", getToken: () => "tok", fetch: f.fetch });
    const err = (await client.getStats().catch((e: unknown) => e)) as ApiError;
    expect(err.problem).toEqual({ type: "about:blank", title: "Bad Gateway", status: 502, detail: "The server answered 502 Bad Gateway." });
    expect(err.fieldErrors).toEqual([]);
  });

  it("marks 429 and 503 as worth retrying", async () => {
    const f = fakeFetch(problem(429, "Slow down."), problem(503, "Later."), problem(422, "no", { errors: [{ field: "q", message: "m" }] }));
    const client = createTodoClient({ baseUrl: "", userId: "u", getToken: () => "tok", fetch: f.fetch });
    const errs = [] as ApiError[];
    for (let i = 0; i < 3; i++) errs.push((await client.listTasks().catch((e: unknown) => e)) as ApiError);
    expect(errs.map((e) => e.isRetryable)).toEqual([true, true, false]);
    expect(errs[2]?.fieldErrors).toEqual([{ field: "q", message: "m" }]);
  });

  it("lets a network failure through as fetch's TypeError", async () => {
    const client = createTodoClient({
      baseUrl: "", userId: "u", getToken: () => "tok",
      fetch: (async () => { throw new TypeError("Failed to fetch"); }) as typeof fetch,
    });
    await expect(client.listTasks()).rejects.toThrow(TypeError);
  });
});
