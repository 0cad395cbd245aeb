"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { ApiError, etagOf, type ListQuery, type Priority, type Task, type TaskPatch, type TaskStats } from "todo-api-client";

import { apiFor, forgetToken } from "@/lib/api";
import { fromLocal, splitTags } from "@/lib/form";
import { authClient } from "@/lib/auth-client";

import { TaskItem } from "./TaskItem";

/** Filters of the list; the same rules decide whether a live change belongs in it. */
interface Filters {
  status: "all" | "pending" | "completed";
  priority: "" | Priority;
  q: string;
}

interface Notice {
  key: number;
  text: string;
}

type Live = "connecting" | "live" | "offline";

/** Tasks is the signed-in user's page: stats, filters, the list, and live updates. */
export function Tasks({ user }: { user: { id: string; name: string; email: string } }) {
  const router = useRouter();
  const api = useMemo(() => apiFor(user.id), [user.id]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [stats, setStats] = useState<TaskStats | null>(null);
  const [filters, setFilters] = useState<Filters>({ status: "all", priority: "", q: "" });
  const [search, setSearch] = useState("");
  const [error, setError] = useState("");
  const [live, setLive] = useState<Live>("connecting");
  const [notices, setNotices] = useState<Notice[]>([]);
  const [permission, setPermission] = useState<NotificationPermission | "unsupported">("unsupported");
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    setPermission("Notification" in window ? Notification.permission : "unsupported");
  }, []);

  // The search box filters after a pause in typing, not on every key.
  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search.trim() ? f : { ...f, q: search.trim() })), 250);
    return () => clearTimeout(timer);
  }, [search]);

  const report = useCallback((err: unknown) => {
    if (err instanceof ApiError) setError(err.problem.detail);
    else if (err instanceof Error) setError(err.message);
    else setError(String(err));
  }, []);

  const refreshStats = useCallback(async () => {
    try {
      setStats(await api.getStats({ tz: Intl.DateTimeFormat().resolvedOptions().timeZone }));
    } catch (err) {
      report(err);
    }
  }, [api, report]);
  const statsTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const refreshStatsSoon = useCallback(() => {
    clearTimeout(statsTimer.current);
    statsTimer.current = setTimeout(refreshStats, 200);
  }, [refreshStats]);

  // load reads the list for the filters. A change that arrives on the
  // stream while a load is on its way may be older or newer than what the
  // load returns, so the list is read once more after it.
  const loading = useRef<{ again: boolean } | null>(null);
  const load = useCallback(async () => {
    if (loading.current) {
      loading.current.again = true;
      return;
    }
    loading.current = { again: false };
    try {
      do {
        loading.current.again = false;
        const page = await api.listTasks(toQuery(filtersRef.current));
        setTasks(page.tasks);
        setLoaded(true);
      } while (loading.current.again);
    } catch (err) {
      report(err);
    } finally {
      loading.current = null;
    }
  }, [api, report]);

  useEffect(() => {
    void load();
  }, [filters, load]);
  useEffect(() => {
    void refreshStats();
  }, [refreshStats]);

  // upsert puts a task as the server has it into the list, if it matches the
  // filters, unless the list already holds a newer version of it.
  const upsert = useCallback((task: Task) => {
    setTasks((list) => {
      const i = list.findIndex((t) => t.id === task.id);
      if (i >= 0 && list[i].version > task.version) return list;
      const rest = i >= 0 ? list.filter((t) => t.id !== task.id) : list;
      return matches(task, filtersRef.current) ? insertSorted(rest, task) : rest;
    });
  }, []);
  const remove = useCallback((id: number) => setTasks((list) => list.filter((t) => t.id !== id)), []);

  const notify = useCallback((task: Task, late: boolean) => {
    const text = `Reminder: ${task.title}${late ? " (missed while the server was down)" : ""}`;
    setNotices((n) => [...n, { key: Date.now() + Math.random(), text }]);
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        new Notification("Task reminder", { body: task.title, tag: `task-${task.id}` });
      } catch {
        // Some browsers (Chrome on Android) allow notifications only from a service worker.
      }
    }
  }, []);

  // The event stream: every change of this user's tasks from any tab or
  // device. It starts with "ready"; the list is (re)read then, so that no
  // change falls between the read and the stream.
  useEffect(() => {
    const sub = api.subscribe({
      onOpen: () => setLive("live"),
      onEvent: (event) => {
        switch (event.type) {
          case "ready":
            void load();
            break;
          case "task.created":
          case "task.updated":
            upsert(event.task);
            if (loading.current) loading.current.again = true;
            refreshStatsSoon();
            break;
          case "task.deleted":
            remove(event.id);
            if (loading.current) loading.current.again = true;
            refreshStatsSoon();
            break;
          case "reminder":
            upsert(event.task);
            notify(event.task, event.late === true);
            refreshStatsSoon();
            break;
        }
      },
      onError: (err) => {
        setLive("offline");
        report(err);
      },
    });
    return () => sub.close();
  }, [api, load, upsert, remove, notify, refreshStatsSoon, report]);

  // optimistic shows the change at once, sends it with If-Match (the
  // version shown), and puts the server's answer in, or the old task back
  // when it is refused. A 412 means another tab or device changed the
  // task first: the current version is read and shown instead.
  const optimistic = useCallback(
    async (before: Task, after: Task | null, send: (ifMatch: string) => Promise<Task | null>) => {
      setError("");
      if (after) upsert({ ...after, version: before.version });
      else remove(before.id);
      try {
        const result = await send(etagOf(before));
        if (result) upsert(result);
      } catch (err) {
        if (err instanceof ApiError && err.isPreconditionFailed) {
          setError("This task was changed elsewhere in the meantime; its current version is shown. Try again.");
          try {
            const current = await api.getTask(before.id);
            if (current) setTasks((list) => insertSorted(list.filter((t) => t.id !== before.id), current.task));
          } catch (err2) {
            if (err2 instanceof ApiError && err2.status === 404) remove(before.id);
            else report(err2);
          }
        } else {
          setTasks((list) => insertSorted(list.filter((t) => t.id !== before.id), before));
          report(err);
        }
      }
      refreshStatsSoon();
    },
    [api, upsert, remove, report, refreshStatsSoon],
  );

  const toggle = (task: Task) =>
    optimistic(task, { ...task, completed: !task.completed }, async (ifMatch) => (await api.toggleTask(task.id, { completed: !task.completed, ifMatch })).task);
  const edit = (task: Task, patch: TaskPatch) =>
    optimistic(task, { ...task, ...patch } as Task, async (ifMatch) => (await api.updateTask(task.id, patch, { ifMatch })).task);
  const del = (task: Task) =>
    optimistic(task, null, async (ifMatch) => {
      await api.deleteTask(task.id, { ifMatch });
      return null;
    });

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    setError("");
    try {
      const { task } = await api.createTask(
        {
          title: String(form.get("title")),
          priority: String(form.get("priority")) as Priority,
          tags: splitTags(String(form.get("tags") ?? "")),
          due_date: fromLocal(String(form.get("due_date") ?? "")),
          remind_at: fromLocal(String(form.get("remind_at") ?? "")),
        },
        { idempotencyKey: crypto.randomUUID() },
      );
      upsert(task);
      formEl.reset();
      (formEl.elements.namedItem("title") as HTMLInputElement).focus();
      refreshStatsSoon();
    } catch (err) {
      report(err);
    }
  }

  async function enableNotifications() {
    setPermission(await Notification.requestPermission());
  }

  async function signOut() {
    forgetToken();
    await authClient.signOut();
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <div className="tasks-page" data-live={live}>
      <header className="top">
        <div>
          <h1>Tasks</h1>
          <p className="who">
            Signed in as <strong data-testid="user-name">{user.name}</strong> ({user.email})
          </p>
        </div>
        <div className="top-actions">
          <span className={`live live-${live}`} role="status" aria-live="polite" data-testid="live">
            {live === "live" ? "Live" : live === "connecting" ? "Connecting…" : "Offline"}
          </span>
          {permission === "default" && (
            <button type="button" className="secondary" onClick={enableNotifications}>
              Turn on browser notifications
            </button>
          )}
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>

      <div className="notices" aria-live="polite" data-testid="notices">
        {notices.map((n) => (
          <p className="notice" key={n.key}>
            <span>{n.text}</span>
            <button type="button" className="link" onClick={() => setNotices((all) => all.filter((x) => x.key !== n.key))}>
              Dismiss<span className="visually-hidden"> reminder</span>
            </button>
          </p>
        ))}
      </div>

      {stats && (
        <dl className="stats" data-testid="stats" aria-label="Counts">
          <Stat name="Total" value={stats.total} />
          <Stat name="Pending" value={stats.pending} />
          <Stat name="Completed" value={stats.completed} />
          <Stat name="Overdue" value={stats.overdue} />
          <Stat name="Due today" value={stats.due_today} />
          <Stat name="Reminders set" value={stats.reminders_pending} />
        </dl>
      )}

      <form className="create" onSubmit={create} aria-label="Create a task">
        <label className="grow">
          New task
          <input name="title" required maxLength={200} placeholder="What needs doing?" autoComplete="off" />
        </label>
        <label>
          Priority
          <select name="priority" defaultValue="medium">
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
          </select>
        </label>
        <label>
          Due
          <input name="due_date" type="datetime-local" />
        </label>
        <label>
          Remind me at
          <input name="remind_at" type="datetime-local" step="1" />
        </label>
        <label className="tags">
          Tags
          <input name="tags" placeholder="home, work" autoComplete="off" />
        </label>
        <button type="submit">Add task</button>
      </form>

      <p className="error" role="alert" data-testid="error">
        {error}
      </p>

      <form className="filters" role="search" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
        <label>
          Show
          <select value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value as Filters["status"] })}>
            <option value="all">All</option>
            <option value="pending">Pending</option>
            <option value="completed">Completed</option>
          </select>
        </label>
        <label>
          Priority
          <select value={filters.priority} onChange={(e) => setFilters({ ...filters, priority: e.target.value as Filters["priority"] })}>
            <option value="">Any</option>
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
          </select>
        </label>
        <label className="grow">
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Title or description" />
        </label>
      </form>

      {loaded && tasks.length === 0 ? (
        <p className="empty" data-testid="empty">
          {filters.status === "all" && !filters.priority && !filters.q ? "No tasks yet: add one above." : "No task matches these filters."}
        </p>
      ) : (
        <ul className="task-list" aria-label="Tasks" data-testid="tasks">
          {tasks.map((task) => (
            <TaskItem key={task.id} task={task} onToggle={toggle} onEdit={edit} onDelete={del} />
          ))}
        </ul>
      )}
    </div>
  );
}

function Stat({ name, value }: { name: string; value: number }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd data-stat={name}>{value}</dd>
    </div>
  );
}

function toQuery(f: Filters): ListQuery {
  return {
    status: f.status,
    priority: f.priority ? [f.priority] : undefined,
    q: f.q || undefined,
    sort: "created",
    order: "desc",
  };
}

/** matches mirrors the API's filters, for tasks that arrive on the stream. */
function matches(task: Task, f: Filters): boolean {
  if (f.status === "pending" && task.completed) return false;
  if (f.status === "completed" && !task.completed) return false;
  if (f.priority && task.priority !== f.priority) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!task.title.toLowerCase().includes(q) && !(task.description ?? "").toLowerCase().includes(q)) return false;
  }
  return true;
}

/** insertSorted keeps the list in the order it is read in: newest first. */
function insertSorted(list: Task[], task: Task): Task[] {
  const i = list.findIndex((t) => t.created_at < task.created_at || (t.created_at === task.created_at && t.id < task.id));
  return i < 0 ? [...list, task] : [...list.slice(0, i), task, ...list.slice(i)];
}
