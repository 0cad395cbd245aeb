package agents

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tool is one MCP tool and the REST request it stands for.
type tool struct {
	name, title, description string
	method                   string
	// path is below /api/{user_id}; "{id}" takes the id argument.
	path string
	// query sends the arguments as the query string, else as the JSON body.
	query bool
	// properties of the input schema besides user_id (and id when the path
	// takes one); required names those that must be there.
	properties string
	required   []string
	// defaults are body members a call that leaves them out gets.
	defaults map[string]json.RawMessage
	// idempotencyKey takes an idempotency_key argument as the
	// Idempotency-Key header.
	idempotencyKey bool
	// versioned takes a version argument as If-Match, so that a write
	// meant for the task the agent read does not overwrite a later edit.
	versioned bool
	// wrap names the member a JSON array answer goes under (structured
	// content is an object).
	wrap        string
	annotations mcp.ToolAnnotations
	// summary is the short text line of a success.
	summary func(id int64, v map[string]any) string
}

// The schemas mirror docs/openapi.yaml's TaskCreate/TaskPatch, TaskMove,
// ListCreate, the list's query parameters and the stats' ones.
const (
	userIDProperty = `"user_id": {"type": "string", "description": "The token's own user id, or \"me\"; leave it out to act as the token's user. Any other id is refused."}`
	idProperty     = `"id": {"type": "integer", "minimum": 1, "description": "The task's id."}`
	// versionProperty is the REST API's If-Match in a form an agent has at
	// hand: the version of the task it read.
	versionProperty = `"version": {"type": "integer", "minimum": 1, "description": "The task's version as you last read it (get_task, list_tasks): the call then succeeds only if nobody changed the task since, and otherwise fails saying its current version. Leave it out to act whatever the version."}`

	taskFields = `
	"title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Trimmed; then 1–200 characters, no control characters."},
	"description": {"type": ["string", "null"], "maxLength": 1000, "description": "At most 1000 characters; null clears it."},
	"completed": {"type": "boolean"},
	"priority": {"type": "string", "enum": ["low", "medium", "high"], "description": "Default medium."},
	"tags": {"type": ["array", "null"], "maxItems": 10, "items": {"type": "string", "minLength": 1, "maxLength": 50}, "description": "At most 10 tags, trimmed and lower-cased."},
	"due_date": {"type": ["string", "null"], "format": "date-time", "description": "A full RFC 3339 date-time, e.g. 2026-12-01T17:00:00Z; null clears it."},
	"recurrence": {"type": ["string", "null"], "enum": ["daily", "weekly", "monthly", null], "description": "Completing a recurring task creates its next occurrence; it needs a due_date."},
	"list_id": {"type": ["integer", "null"], "minimum": 1, "description": "One of the user's lists (see list_lists), or null for the inbox."},
	"parent_id": {"type": ["integer", "null"], "minimum": 1, "description": "A top-level task to make this one a subtask of, or null for top level."}`

	listTasksFields = `
	"status": {"type": "string", "enum": ["all", "pending", "completed"], "description": "Default all."},
	"priority": {"type": "string", "description": "One or more of low, medium, high, comma-separated."},
	"tag": {"type": "array", "items": {"type": "string"}, "maxItems": 10, "description": "Tasks carrying every tag given."},
	"q": {"type": "string", "maxLength": 200, "description": "Case-insensitive search in title and description."},
	"due_before": {"type": "string", "format": "date-time"},
	"due_after": {"type": "string", "format": "date-time"},
	"overdue": {"type": "boolean", "description": "Pending tasks due before now."},
	"list": {"type": ["string", "integer"], "description": "A list id (see list_lists) or inbox."},
	"parent": {"type": ["string", "integer"], "description": "A task id, for its subtasks, or none for top-level tasks only."},
	"sort": {"type": "string", "enum": ["created", "updated", "title", "due_date", "priority", "position"], "description": "Default created; position is the manual order."},
	"order": {"type": "string", "enum": ["asc", "desc"]},
	"limit": {"type": "integer", "minimum": 1, "maximum": 500, "description": "Default 100."},
	"offset": {"type": "integer", "minimum": 0}`
)

var (
	readOnly   = mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}
	additive   = mcp.ToolAnnotations{DestructiveHint: new(false), OpenWorldHint: new(false)}
	changing   = mcp.ToolAnnotations{DestructiveHint: new(false), IdempotentHint: true, OpenWorldHint: new(false)}
	destroying = mcp.ToolAnnotations{DestructiveHint: new(true), IdempotentHint: true, OpenWorldHint: new(false)}
)

// tools are the server's tools, in the order tools/list names them.
var tools = []tool{
	{
		name: "add_task", title: "Add a task", method: http.MethodPost, path: "/tasks",
		description: "Create a task for the user. Only title is required. " +
			"Send idempotency_key (any unique string, e.g. a UUID) to make a retry return the first task instead of adding another.",
		properties: taskFields + `,
	"idempotency_key": {"type": "string", "minLength": 1, "maxLength": 255, "description": "Retrying with the same key and the same fields within 24 h returns the task the first call created."}`,
		required: []string{"title"}, idempotencyKey: true, annotations: additive,
		summary: func(_ int64, v map[string]any) string {
			return fmt.Sprintf("Added task %s: %s.", orNone(v["id"]), quoted(v["title"]))
		},
	},
	{
		name: "list_tasks", title: "List tasks", method: http.MethodGet, path: "/tasks", query: true,
		description: "List the user's tasks, filtered, sorted and a page at a time; total is the number of matching tasks across pages.",
		properties:  listTasksFields, wrap: "tasks", annotations: readOnly,
	},
	{
		name: "get_task", title: "Get a task", method: http.MethodGet, path: "/tasks/{id}",
		description: "Read one of the user's tasks by id.",
		annotations: readOnly,
		summary: func(id int64, v map[string]any) string {
			return fmt.Sprintf("Task %d: %s (%s).", id, quoted(v["title"]), state(v))
		},
	},
	{
		name: "update_task", title: "Update a task", method: http.MethodPatch, path: "/tasks/{id}",
		description: "Change the fields sent, and only those, of one of the user's tasks; null clears a field that may be empty.",
		properties:  taskFields, versioned: true, annotations: changing,
		summary: func(id int64, v map[string]any) string {
			return fmt.Sprintf("Task %d is now %s (%s), version %v.", id, quoted(v["title"]), state(v), v["version"])
		},
	},
	{
		name: "complete_task", title: "Complete a task", method: http.MethodPatch, path: "/tasks/{id}/toggle",
		description: "Mark one of the user's tasks completed (or pending again with completed: false). " +
			"Completing a parent completes its subtasks; completing a recurring task creates its next occurrence (next_task_id).",
		properties: `"completed": {"type": "boolean", "default": true, "description": "true (the default) completes, false reopens."}`,
		defaults:   map[string]json.RawMessage{"completed": json.RawMessage("true")},
		versioned:  true, annotations: changing,
		summary: func(id int64, v map[string]any) string {
			s := fmt.Sprintf("Task %d %s is %s.", id, quoted(v["title"]), state(v))
			if next, ok := v["next_task_id"].(float64); ok {
				s += fmt.Sprintf(" Its next occurrence is task %d.", int64(next))
			}
			return s
		},
	},
	{
		name: "delete_task", title: "Delete a task", method: http.MethodDelete, path: "/tasks/{id}",
		description: "Delete one of the user's tasks, and its subtasks.",
		versioned:   true, annotations: destroying,
		summary: func(id int64, _ map[string]any) string { return fmt.Sprintf("Deleted task %d.", id) },
	},
	{
		name: "task_stats", title: "Task statistics", method: http.MethodGet, path: "/tasks/stats", query: true,
		description: "Count the user's tasks: total, pending, completed, overdue and due today.",
		properties: `
	"tz": {"type": "string", "description": "An IANA time zone for \"today\", e.g. Europe/Berlin; default UTC."},
	"list": {"type": ["string", "integer"], "description": "A list id or inbox, to count only that list."}`,
		annotations: readOnly,
		summary: func(_ int64, v map[string]any) string {
			return fmt.Sprintf("%v tasks: %v pending, %v completed, %v overdue, %v due today.",
				v["total"], v["pending"], v["completed"], v["overdue"], v["due_today"])
		},
	},
	{
		name: "list_lists", title: "List lists", method: http.MethodGet, path: "/lists",
		description: "List the user's task lists in their order, with their task counts.",
		wrap:        "lists", annotations: readOnly,
	},
	{
		name: "add_list", title: "Add a list", method: http.MethodPost, path: "/lists",
		description: "Create a task list for the user; names are unique per user, ignoring case.",
		properties: `
	"name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Trimmed; 1–100 characters."},
	"color": {"type": ["string", "null"], "pattern": "^#[0-9a-fA-F]{6}$", "description": "#rrggbb, or null."}`,
		required: []string{"name"}, annotations: additive,
		summary: func(_ int64, v map[string]any) string {
			return fmt.Sprintf("Added list %s: %s.", orNone(v["id"]), quoted(v["name"]))
		},
	},
	{
		name: "move_task", title: "Move a task", method: http.MethodPost, path: "/tasks/{id}/move",
		description: "File one of the user's tasks, with its subtasks, into a list, under a parent and after a sibling, in one step. " +
			"Each of list_id, parent_id and after_id is optional: absent keeps the task's current one.",
		properties: `
	"list_id": {"type": ["integer", "null"], "minimum": 1, "description": "One of the user's lists, or null for the inbox."},
	"parent_id": {"type": ["integer", "null"], "minimum": 1, "description": "A top-level task, or null for top level."},
	"after_id": {"type": ["integer", "null"], "minimum": 1, "description": "The sibling to go right after, or null to go first."}`,
		versioned: true, annotations: changing,
		summary: func(id int64, v map[string]any) string {
			return fmt.Sprintf("Moved task %d (list %s, parent %s).", id, orNone(v["list_id"]), orNone(v["parent_id"]))
		},
	},
}

// takesID reports whether the tool's path names one task.
func (t tool) takesID() bool { return strings.HasPrefix(t.path, "/tasks/{id}") }

// schema is the tool's JSON Schema (draft 2020-12) for its arguments.
func (t tool) schema() json.RawMessage {
	props := userIDProperty
	required := t.required
	if t.takesID() {
		props += ",\n\t" + idProperty
		required = append([]string{"id"}, required...)
	}
	if t.versioned {
		props += ",\n\t" + versionProperty
	}
	if t.properties != "" {
		props += "," + t.properties
	}
	req, _ := json.Marshal(append([]string{}, required...))
	return json.RawMessage(`{"type": "object", "additionalProperties": false, "properties": {` + props + `}, "required": ` + string(req) + `}`)
}

func (t tool) mcpTool() *mcp.Tool {
	a := t.annotations
	a.Title = t.title
	return &mcp.Tool{Name: t.name, Title: t.title, Description: t.description, InputSchema: t.schema(), Annotations: &a}
}

func quoted(v any) string {
	s, _ := v.(string)
	return fmt.Sprintf("%q", s)
}

func state(v map[string]any) string {
	if done, _ := v["completed"].(bool); done {
		return "completed"
	}
	return "pending"
}

func orNone(v any) string {
	if n, ok := v.(float64); ok {
		return fmt.Sprintf("%d", int64(n))
	}
	return "none"
}
