// A live view on todo-api-client: the list is drawn only from changes()
// and subscribe(), never from the answer to a write, so that what a page
// shows is what the stream brought it. The browser test opens it twice for
// one user (and once for another) and writes through one page's buttons.
// ?user= picks the user; config.js holds a token for each (TODO_LIVE).
import { ApiError, createTodoClient, type StreamEvent, type Task } from "../../../clients/typescript/src/index.js";

declare global {
  interface Window {
    TODO_LIVE: { apiBase: string; tokens: Record<string, string> };
  }
}

const config = window.TODO_LIVE;
const user = new URLSearchParams(location.search).get("user") ?? "";
const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const log = (selector: string, line: object) => ($(selector).textContent += JSON.stringify({ ...line, at: Date.now() }) + "\n");

// Each write's answer is logged with the moment it arrived: the test
// measures from there to the event in the other page.
const ackingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (init?.method && init.method !== "GET") log("#acks", { method: init.method, url: String(input), status: res.status });
  return res;
};

const client = createTodoClient({ baseUrl: config.apiBase, userId: user, getToken: () => config.tokens[user]!, fetch: ackingFetch });
const tasks = new Map<number, Task>();

function showError(err: unknown) {
  $("#error").textContent = err instanceof ApiError ? `${err.status}: ${err.problem.detail}` : `${(err as Error).message}`;
}

function draw() {
  const sorted = [...tasks.values()].sort((a, b) => a.id - b.id);
  $("#tasks").replaceChildren(...sorted.map(render));
}

function render(task: Task): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.id = String(task.id);
  li.dataset.version = String(task.version);
  li.className = task.completed ? "done" : "";

  const done = document.createElement("input");
  done.type = "checkbox";
  done.className = "toggle";
  done.checked = task.completed;
  done.addEventListener("change", () => void write(() => client.toggleTask(task.id, { completed: done.checked })));

  const title = document.createElement("input");
  title.className = "title";
  title.value = task.title;
  const save = document.createElement("button");
  save.className = "save";
  save.textContent = "Save";
  save.addEventListener("click", () => void write(() => client.updateTask(task.id, { title: title.value })));

  const remove = document.createElement("button");
  remove.className = "delete";
  remove.textContent = "Delete";
  remove.addEventListener("click", () => void write(() => client.deleteTask(task.id)));

  li.append(done, " ", title, " ", save, " ", remove);
  return li;
}

async function write(fn: () => Promise<unknown>) {
  $("#error").textContent = "";
  try {
    await fn();
  } catch (err) {
    showError(err);
  }
}

function apply(e: StreamEvent) {
  if (e.type === "task.created" || e.type === "task.updated") tasks.set(e.task.id, e.task);
  else if (e.type === "task.deleted") tasks.delete(e.id);
  else return;
  draw();
}

$("#new-task").addEventListener("submit", (event) => {
  event.preventDefault();
  const title = $<HTMLInputElement>("#title");
  const remindIn = $<HTMLInputElement>("#remind-in");
  const body = { title: title.value, remind_at: remindIn.value ? new Date(Date.now() + Number(remindIn.value) * 1000).toISOString() : null };
  title.value = remindIn.value = "";
  void write(() => client.createTask(body, { idempotencyKey: crypto.randomUUID() }));
});

async function start() {
  // A full sync, then the stream from where it ended.
  let page = await client.changes();
  for (;;) {
    for (const ch of page.changes) {
      if ("task" in ch) tasks.set(ch.task.id, ch.task);
      else if ("id" in ch) tasks.delete(ch.id);
    }
    if (!page.has_more) break;
    page = await client.changes({ since: page.cursor });
  }
  draw();
  client.subscribe({
    since: page.cursor,
    onOpen: () => (document.body.dataset.live = "open"),
    onEvent: (e) => {
      log("#events", { type: e.type, id: "task" in e ? e.task.id : "id" in e ? e.id : null });
      apply(e);
    },
    onReminder: ({ task, late }) => {
      const li = document.createElement("li");
      li.dataset.id = String(task.id);
      li.dataset.late = String(late);
      li.dataset.remindAt = task.remind_at ?? "";
      li.dataset.at = String(Date.now());
      li.textContent = task.title;
      $("#reminders").append(li);
    },
    onError: showError,
  });
}

start().catch(showError);
