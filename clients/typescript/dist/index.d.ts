export { createTodoClient, etagOf } from "./client.js";
export type { Change, ChangePage, ClientOptions, GetToken, ListQuery, Priority, Recurrence, Task, TaskCreate, TaskPage, TaskPatch, TaskStats, TodoClient, Versioned, WriteOptions, } from "./client.js";
export { ApiError } from "./errors.js";
export type { FieldError, Problem } from "./errors.js";
export type { components, operations, paths } from "./schema.js";
