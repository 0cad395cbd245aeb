// The official TypeScript SDK's MCP client against todo-api's /mcp, as two
// users: initialize, list the tools (names and schemas), call each one,
// read the structured results; bob never sees or changes alice's tasks,
// a user_id that is not the token's is a tool error, and a validation
// error carries the REST API's problem detail.
//
// Run by blackbox/mcp_node_test.go (go test -tags e2e), with MCP_URL,
// TOKEN_ALICE and TOKEN_BOB set, after npm ci in this folder. Node's test
// runner prints the summary the CI reads.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.MCP_URL ?? assert.fail("MCP_URL is not set"));
const tokens = { alice: process.env.TOKEN_ALICE, bob: process.env.TOKEN_BOB };
assert.ok(tokens.alice && tokens.bob, "TOKEN_ALICE and TOKEN_BOB must be set");

async function connect(token) {
  const client = new Client({ name: "todo-api-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  await client.connect(transport);
  return client;
}

const alice = await connect(tokens.alice);
const bob = await connect(tokens.bob);

/** call runs a tool and returns its result, failing on a protocol error. */
const call = (client, name, args = {}) => client.callTool({ name, arguments: args });

const tools = [
  "add_list", "add_task", "complete_task", "delete_task", "get_task",
  "list_lists", "list_tasks", "move_task", "task_stats", "update_task",
];

test("initialize names the server", () => {
  assert.equal(alice.getServerVersion()?.name, "todo-api");
  assert.ok(alice.getServerCapabilities()?.tools, "the server offers tools");
});

test("tools/list: every tool of SPEC.md, each with an object schema", async () => {
  const { tools: listed } = await alice.listTools();
  assert.deepEqual(listed.map((t) => t.name).sort(), tools);
  for (const t of listed) {
    assert.equal(t.inputSchema.type, "object", t.name);
    assert.ok(t.inputSchema.properties.user_id, `${t.name} takes user_id`);
    assert.ok(t.description.length > 10, `${t.name} is described`);
  }
  const add = listed.find((t) => t.name === "add_task");
  assert.deepEqual(add.inputSchema.required, ["title"]);
  for (const p of ["title", "description", "priority", "tags", "due_date", "recurrence", "list_id", "parent_id"]) {
    assert.ok(add.inputSchema.properties[p], `add_task takes ${p}`);
  }
  const list = listed.find((t) => t.name === "list_tasks");
  for (const p of ["status", "q", "list", "parent", "sort", "limit"]) {
    assert.ok(list.inputSchema.properties[p], `list_tasks takes ${p}`);
  }
});

test("every tool, as alice; none of it reaches bob", async () => {
  const list = await call(alice, "add_list", { name: "Groceries", color: "#2f9e44" });
  assert.ok(!list.isError, JSON.stringify(list));
  const listId = list.structuredContent.id;

  const added = await call(alice, "add_task", {
    title: "Buy milk", tags: ["Home"], due_date: "2026-12-01T17:00:00Z", list_id: listId,
  });
  assert.ok(!added.isError, JSON.stringify(added));
  const task = added.structuredContent;
  assert.equal(task.title, "Buy milk");
  assert.deepEqual(task.tags, ["home"]);
  assert.equal(task.list_id, listId);
  assert.equal(task.version, 1);
  assert.match(added.content[0].text, /^Added task \d+/);

  const got = await call(alice, "get_task", { id: task.id });
  assert.equal(got.structuredContent.title, "Buy milk");

  const listed = await call(alice, "list_tasks", { list: String(listId), status: "pending" });
  assert.equal(listed.structuredContent.total, 1);
  assert.equal(listed.structuredContent.tasks[0].id, task.id);

  const updated = await call(alice, "update_task", { id: task.id, priority: "high", description: "oat" });
  assert.equal(updated.structuredContent.priority, "high");
  assert.equal(updated.structuredContent.version, 2);

  const moved = await call(alice, "move_task", { id: task.id, list_id: null });
  assert.equal(moved.structuredContent.list_id, null);

  const stats = await call(alice, "task_stats", { tz: "Europe/Berlin" });
  assert.equal(stats.structuredContent.total, 1);
  assert.equal(stats.structuredContent.pending, 1);

  const lists = await call(alice, "list_lists");
  assert.equal(lists.structuredContent.lists.length, 1);

  // bob: none of alice's tasks by id, in a list, or by naming her.
  for (const [name, args] of [
    ["get_task", { id: task.id }],
    ["update_task", { id: task.id, title: "bob's now" }],
    ["complete_task", { id: task.id }],
    ["move_task", { id: task.id, list_id: null }],
    ["delete_task", { id: task.id }],
  ]) {
    const r = await call(bob, name, args);
    assert.equal(r.isError, true, `bob's ${name}: ${JSON.stringify(r)}`);
    assert.equal(r.content[0].text, "No task with this id.", name);
  }
  const intoHers = await call(bob, "add_task", { title: "x", list_id: listId });
  assert.equal(intoHers.isError, true);
  const naming = await call(bob, "list_tasks", { user_id: "alice" });
  assert.equal(naming.isError, true);
  assert.match(naming.content[0].text, /user_id is not the token's user/);
  const bobs = await call(bob, "list_tasks");
  assert.equal(bobs.structuredContent.total, 0);
  assert.deepEqual((await call(bob, "list_lists")).structuredContent.lists, []);

  // alice's task is as she left it.
  const after = await call(alice, "get_task", { id: task.id, user_id: "me" });
  assert.equal(after.structuredContent.version, 3);
  assert.equal(after.structuredContent.title, "Buy milk");

  const done = await call(alice, "complete_task", { id: task.id });
  assert.equal(done.structuredContent.completed, true);
  const gone = await call(alice, "delete_task", { id: task.id });
  assert.deepEqual(gone.structuredContent, { deleted: true, id: task.id });
  assert.equal((await call(alice, "get_task", { id: task.id })).isError, true);
});

test("validation errors: isError with the REST detail, no internals", async () => {
  const r = await call(alice, "add_task", { title: "", priority: "urgent" });
  assert.equal(r.isError, true);
  assert.equal(r.content[0].text, "2 fields did not pass validation; see errors.");
  assert.match(r.content[1].text, /title: must not be empty/);
  assert.match(r.content[1].text, /priority: must be one of: low, medium, high/);
  assert.equal(r.structuredContent, undefined);
  for (const c of r.content) assert.doesNotMatch(c.text, /sql|gorm|\.go:|panic|goroutine/i);
});

test("no token, a bad token: the client cannot connect (401)", async () => {
  for (const token of [undefined, "not.a.jwt"]) {
    await assert.rejects(connect(token), (err) => /401|Unauthorized|invalid_token|token/i.test(String(err)));
  }
});

test.after(async () => {
  await alice.close();
  await bob.close();
});
