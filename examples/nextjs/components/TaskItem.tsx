"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";
import type { Priority, Task, TaskPatch } from "todo-api-client";

import { fromLocal, splitTags, toLocal } from "@/lib/form";

interface Props {
  task: Task;
  onToggle: (task: Task) => void;
  onEdit: (task: Task, patch: TaskPatch) => void;
  onDelete: (task: Task) => void;
}

/** TaskItem is one task of the list, shown or, after Edit, as a form. */
export function TaskItem({ task, onToggle, onEdit, onDelete }: Props) {
  const [editing, setEditing] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const titleInput = useRef<HTMLInputElement>(null);
  const wasEditing = useRef(false);

  // Keyboard users land in the form when it opens, and back on Edit when it closes.
  useEffect(() => {
    if (editing) titleInput.current?.focus();
    else if (wasEditing.current) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const description = String(form.get("description")).trim();
    const patch: TaskPatch = {
      title: String(form.get("title")),
      description: description || null,
      priority: String(form.get("priority")) as Priority,
      tags: splitTags(String(form.get("tags"))),
      due_date: fromLocal(String(form.get("due_date"))),
    };
    // Only a changed reminder is sent: sending it again would re-arm one that fired.
    const remindAt = fromLocal(String(form.get("remind_at")));
    if (toLocal(remindAt) !== toLocal(task.remind_at)) patch.remind_at = remindAt;
    setEditing(false);
    onEdit(task, patch);
  }

  const id = `task-${task.id}`;
  if (editing) {
    return (
      <li className="task editing" data-task-id={task.id}>
        <form onSubmit={save} aria-label={`Edit ${task.title}`} onKeyDown={(e) => e.key === "Escape" && setEditing(false)}>
          <label className="grow">
            Title
            <input ref={titleInput} name="title" defaultValue={task.title} required maxLength={200} />
          </label>
          <label className="grow wide">
            Description
            <textarea name="description" defaultValue={task.description ?? ""} maxLength={1000} rows={2} />
          </label>
          <label>
            Priority
            <select name="priority" defaultValue={task.priority}>
              <option value="low">Low</option>
              <option value="medium">Medium</option>
              <option value="high">High</option>
            </select>
          </label>
          <label>
            Due
            <input name="due_date" type="datetime-local" defaultValue={toLocal(task.due_date).slice(0, 16)} />
          </label>
          <label>
            Remind me at
            <input name="remind_at" type="datetime-local" step="1" defaultValue={toLocal(task.remind_at)} />
          </label>
          <label className="tags">
            Tags
            <input name="tags" defaultValue={task.tags.join(", ")} />
          </label>
          <div className="actions">
            <button type="submit">Save</button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className={`task${task.completed ? " done" : ""}`} data-task-id={task.id}>
      <input id={id} type="checkbox" checked={task.completed} onChange={() => onToggle(task)} />
      <div className="body">
        <label htmlFor={id} className="title">
          {task.title}
        </label>
        {task.description && <p className="description">{task.description}</p>}
        <p className="meta">
          <span className={`priority priority-${task.priority}`}>{task.priority}</span>
          {task.due_date && (
            <span className={isOverdue(task) ? "overdue" : undefined}>
              due <time dateTime={task.due_date}>{formatTime(task.due_date)}</time>
              {isOverdue(task) && " (overdue)"}
            </span>
          )}
          {task.remind_at && (
            <span>
              {task.reminded_at ? "reminded" : "reminder"} <time dateTime={task.remind_at}>{formatTime(task.remind_at)}</time>
            </span>
          )}
          {task.tags.map((tag) => (
            <span className="tag" key={tag}>
              #{tag}
            </span>
          ))}
        </p>
      </div>
      <div className="actions">
        <button ref={editButton} type="button" className="secondary" onClick={() => setEditing(true)}>
          Edit<span className="visually-hidden"> {task.title}</span>
        </button>
        <button type="button" className="danger" onClick={() => onDelete(task)}>
          Delete<span className="visually-hidden"> {task.title}</span>
        </button>
      </div>
    </li>
  );
}

function isOverdue(task: Task): boolean {
  return !task.completed && !!task.due_date && new Date(task.due_date).getTime() < Date.now();
}

function formatTime(value: string): string {
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
