// todo-api-client: a typed client for todo-api. The types come from
// docs/openapi.yaml (npm run generate writes src/schema.ts); the rest is
// hand-written and has no runtime dependency.
export { createTodoClient, etagOf } from "./client.js";
export type {
  Change,
  ChangePage,
  ClientOptions,
  GetToken,
  List,
  ListCreate,
  ListPatch,
  ListQuery,
  Priority,
  Recurrence,
  Task,
  TaskCreate,
  TaskMove,
  TaskPage,
  TaskPatch,
  TaskStats,
  TodoClient,
  Versioned,
  VersionedList,
  WriteOptions,
} from "./client.js";
export type { Reminder, StreamEvent, SubscribeOptions, Subscription } from "./events.js";
export { ApiError } from "./errors.js";
export type { FieldError, Problem } from "./errors.js";
export type { components, operations, paths } from "./schema.js";
