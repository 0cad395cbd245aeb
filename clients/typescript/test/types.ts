// Compile-time checks of the types the package exports: npm run typecheck
// fails when one of them breaks. Nothing here runs.
import type { List, ListCreate, Reminder, SubscribeOptions, Task, TaskCreate, TaskPatch } from "../src/index.js";

type ReadOnly = "id" | "user_id" | "version" | "created_at" | "updated_at" | "completed_at" | "next_task_id" | "position" | "reminded_at";
type Editable = "title" | "description" | "completed" | "priority" | "tags" | "due_date" | "recurrence" | "list_id" | "parent_id" | "remind_at";
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// The bodies offer exactly the editable fields, none of the read-only ones.
export const createKeys: Same<keyof TaskCreate, Editable> = true;
export const patchKeys: Same<keyof TaskPatch, Editable> = true;
export const taskHasThem: Same<Extract<keyof Task, ReadOnly>, ReadOnly> = true;
export const listKeys: Same<keyof ListCreate, "name" | "color"> = true;
export const listHasCounts: Same<Extract<keyof List, "task_count" | "pending_count">, "task_count" | "pending_count"> = true;

// title stays required on a create, and optional on a patch.
// @ts-expect-error a create needs a title
export const noTitle: TaskCreate = { priority: "high" };
export const patch: TaskPatch = { completed: false, description: null };
// @ts-expect-error id is read-only: no field of a create
export const withId: TaskCreate = { title: "x", id: 1 };
// @ts-expect-error version is read-only: no field of a patch
export const withVersion: TaskPatch = { version: 3 };

// A task as read may still be sent back as a body: the API ignores its
// read-only fields, and TypeScript checks only the fields the body has.
export const resend = (task: Task): TaskCreate => task;

// onReminder is handed exactly the reminder event's data, late and cursor
// always set.
export const reminderKeys: Same<keyof Reminder, "cursor" | "task" | "late"> = true;
export const reminderHandler: Same<Parameters<NonNullable<SubscribeOptions["onReminder"]>>[0], Reminder> = true;
export const lateIsSet: Same<Reminder["late"], boolean> = true;
