// A tiny frontend on todo-api-client: the browser test drives it through
// create → list → edit → toggle → delete and reads the DOM after each step.
// It is bundled with esbuild and served from another origin than the API,
// so every call is a cross-origin fetch with CORS preflights.
import { ApiError, createTodoClient, etagOf, type Task } from "../../../clients/typescript/src/index.js";

declare global {
  interface Window {
    TODO_CONFIG: { apiBase: string; userId: string; token: string };
  }
}

const config = window.TODO_CONFIG;
const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;

// One line per response, with the headers the page's script could read:
// without Access-Control-Expose-Headers, fetch hides all but a few.
const exposed = ["ETag", "Location", "X-Total-Count", "X-Request-ID", "Link"];
const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const seen: Record<string, string> = {};
  for (const name of exposed) {
    const value = res.headers.get(name);
    if (value !== null) seen[name] = value;
  }
  const line = { method: init?.method ?? "GET", url: String(input), status: res.status, headers: seen };
  $("#log").textContent += JSON.stringify(line) + "\n";
  return res;
};

const client = createTodoClient({
  baseUrl: config.apiBase,
  userId: config.userId,
  getToken: () => config.token,
  fetch: recordingFetch,
});

// The ETag of each task as last read or written, for If-Match.
const etags = new Map<number, string>();

function showError(err: unknown) {
  $("#error").textContent =
    err instanceof ApiError ? `${err.status}: ${err.problem.detail}` : `network: ${(err as Error).message}`;
}

async function refresh() {
  const page = await client.listTasks({ limit: 50 });
  $("#summary").textContent = `${page.total} task${page.total === 1 ? "" : "s"}`;
  const list = $("#tasks");
  list.replaceChildren(...page.tasks.map(render));
}

function render(task: Task): HTMLLIElement {
  if (!etags.has(task.id)) etags.set(task.id, etagOf(task));
  const li = document.createElement("li");
  li.dataset.id = String(task.id);
  li.dataset.etag = etags.get(task.id);
  li.className = task.completed ? "done" : "";

  const done = document.createElement("input");
  done.type = "checkbox";
  done.className = "toggle";
  done.checked = task.completed;
  done.addEventListener("change", () =>
    act(() => client.toggleTask(task.id, { completed: done.checked, ifMatch: etags.get(task.id) })),
  );

  const title = document.createElement("span");
  title.className = "title";
  title.textContent = task.title;

  const edit = document.createElement("button");
  edit.className = "edit";
  edit.textContent = "Edit";
  edit.addEventListener("click", () => {
    const input = document.createElement("input");
    input.className = "edit-title";
    input.value = task.title;
    const save = document.createElement("button");
    save.className = "save";
    save.textContent = "Save";
    save.addEventListener("click", () =>
      act(() => client.updateTask(task.id, { title: input.value }, { ifMatch: etags.get(task.id) })),
    );
    title.replaceWith(input);
    edit.replaceWith(save);
  });

  const remove = document.createElement("button");
  remove.className = "delete";
  remove.textContent = "Delete";
  remove.addEventListener("click", () =>
    act(async () => {
      await client.deleteTask(task.id, { ifMatch: etags.get(task.id) });
      etags.delete(task.id);
    }),
  );

  li.append(done, " ", title, " ", edit, " ", remove);
  return li;
}

// act runs one write, keeps the ETag it answers, then shows the list again.
async function act(write: () => Promise<{ task: Task; etag: string } | void>) {
  document.body.dataset.busy = "true";
  $("#error").textContent = "";
  try {
    const written = await write();
    if (written) etags.set(written.task.id, written.etag);
    await refresh();
  } catch (err) {
    showError(err);
  } finally {
    document.body.dataset.busy = "false";
  }
}

$("#new-task").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("#title");
  const title = input.value;
  input.value = "";
  void act(() => client.createTask({ title }, { idempotencyKey: crypto.randomUUID() }));
});

document.body.dataset.busy = "true";
refresh()
  .catch(showError)
  .finally(() => (document.body.dataset.busy = "false"));
