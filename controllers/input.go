package controllers

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/go-playground/validator/v10"

	"todo-api/internal/jsonbody"
	"todo-api/models"
	"todo-api/problem"
)

// taskInput is the body of POST, PUT and PATCH. It has no owner field: the
// owner always comes from the token. The read-only fields are accepted and
// ignored so that a client can send back what it read.
type taskInput struct {
	Title       jsonbody.Field[string]   `json:"title"`
	Description jsonbody.Field[string]   `json:"description"`
	Completed   jsonbody.Field[bool]     `json:"completed"`
	Priority    jsonbody.Field[string]   `json:"priority"`
	Tags        jsonbody.Field[[]string] `json:"tags"`
	DueDate     jsonbody.Field[string]   `json:"due_date"`
	Recurrence  jsonbody.Field[string]   `json:"recurrence"`
	ListID      jsonbody.Field[int64]    `json:"list_id"`
	ParentID    jsonbody.Field[int64]    `json:"parent_id"`
	RemindAt    jsonbody.Field[string]   `json:"remind_at"`

	ID          jsonbody.Ignored `json:"id"`
	UserID      jsonbody.Ignored `json:"user_id"`
	CreatedAt   jsonbody.Ignored `json:"created_at"`
	UpdatedAt   jsonbody.Ignored `json:"updated_at"`
	CompletedAt jsonbody.Ignored `json:"completed_at"`
	Version     jsonbody.Ignored `json:"version"`
	NextTaskID  jsonbody.Ignored `json:"next_task_id"`
	Position    jsonbody.Ignored `json:"position"`
	RemindedAt  jsonbody.Ignored `json:"reminded_at"`
}

// taskChanges is a validated, normalised taskInput: a nil pointer is a field
// to leave alone, a set Clear flag a field to set to null.
type taskChanges struct {
	Title            *string   `json:"title" validate:"omitnil,min=1,max=200,nocontrol"`
	Description      *string   `json:"description" validate:"omitnil,max=1000,textonly"`
	ClearDescription bool      `json:"-"`
	Completed        *bool     `json:"completed"`
	Priority         *string   `json:"priority" validate:"omitnil,oneof=low medium high"`
	Tags             *[]string `json:"tags" validate:"omitnil,max=10,dive,min=1,max=50,nocontrol"`
	DueDate          *time.Time
	ClearDueDate     bool    `json:"-"`
	Recurrence       *string `json:"recurrence" validate:"omitnil,oneof=daily weekly monthly"`
	ClearRecurrence  bool    `json:"-"`
	RemindAt         *time.Time
	ClearRemindAt    bool `json:"-"`
	// Place is where the task is filed; checked against the database in
	// the write's transaction (place.go).
	Place taskPlace `json:"place"`
}

// inputMode says what an absent field means.
type inputMode int

const (
	// modePatch leaves absent fields unchanged.
	modePatch inputMode = iota
	// modeReplace (POST and PUT) gives absent fields their defaults and
	// requires a title.
	modeReplace
)

// changes validates in and normalises it (titles trimmed, tags trimmed,
// lower-cased and de-duplicated). Every broken rule is reported at once,
// the body's unknown members among them.
func (in taskInput) changes(v *validator.Validate, mode inputMode, unknown []string) (taskChanges, error) {
	var ch taskChanges
	errs := unknownMembers(unknown, "is not a field of a task")
	notNull := func(name string, f bool) bool {
		if f {
			errs = append(errs, problem.FieldError{Field: name, Message: "must not be null"})
		}
		return !f
	}

	switch {
	case in.Title.Set && notNull("title", in.Title.Null):
		t := strings.TrimSpace(in.Title.Value)
		ch.Title = &t
	case !in.Title.Set && mode == modeReplace:
		errs = append(errs, problem.FieldError{Field: "title", Message: "is required"})
	}

	if in.Description.Set && !in.Description.Null {
		ch.Description = &in.Description.Value
	} else {
		ch.ClearDescription = in.Description.Null || mode == modeReplace
	}

	if in.Completed.Set && notNull("completed", in.Completed.Null) {
		ch.Completed = &in.Completed.Value
	} else if mode == modeReplace {
		f := false
		ch.Completed = &f
	}

	if in.Priority.Set && notNull("priority", in.Priority.Null) {
		ch.Priority = &in.Priority.Value
	} else if mode == modeReplace {
		p := string(models.DefaultPriority)
		ch.Priority = &p
	}

	// null tags means no tags, like an empty array.
	if in.Tags.Set || mode == modeReplace {
		tags := normaliseTags(in.Tags.Value)
		ch.Tags = &tags
	}

	var badDue bool
	ch.DueDate, ch.ClearDueDate, badDue = timeField("due_date", in.DueDate, mode, &errs)
	ch.RemindAt, ch.ClearRemindAt, _ = timeField("remind_at", in.RemindAt, mode, &errs)

	if in.Recurrence.Set && !in.Recurrence.Null {
		ch.Recurrence = &in.Recurrence.Value
	} else {
		ch.ClearRecurrence = in.Recurrence.Null || mode == modeReplace
	}

	ch.Place = taskPlace{
		SetsList:   in.ListID.Set || mode == modeReplace,
		ListGiven:  in.ListID.Set,
		SetsParent: in.ParentID.Set || mode == modeReplace,
	}
	if in.ListID.Set && !in.ListID.Null {
		if in.ListID.Value < 1 {
			errs = append(errs, errUnknownList.Errors[0])
		} else {
			ch.Place.ListID = &in.ListID.Value
		}
	}
	if in.ParentID.Set && !in.ParentID.Null {
		if in.ParentID.Value < 1 {
			errs = append(errs, errUnknownParent.Errors[0])
		} else {
			ch.Place.ParentID = &in.ParentID.Value
		}
	}

	// PUT and POST know the whole task; PATCH is checked against the row
	// it produces (see continueSeries).
	if mode == modeReplace && ch.Recurrence != nil && models.Recurrence(*ch.Recurrence).Valid() && ch.DueDate == nil && !badDue {
		errs = append(errs, problem.FieldError{Field: "due_date", Message: "is required when recurrence is set"})
	}
	errs = append(errs, validationErrors(v.Struct(ch))...)
	if len(errs) > 0 {
		return ch, problem.Validation(errs...)
	}
	return ch, nil
}

// timeField reads a nullable date-time member: its value, whether it is
// to be cleared (null, or absent from a POST or PUT), and whether it was
// refused, with the reason appended to errs.
func timeField(name string, f jsonbody.Field[string], mode inputMode, errs *[]problem.FieldError) (*time.Time, bool, bool) {
	if !f.Set || f.Null {
		return nil, f.Null || mode == modeReplace, false
	}
	d, err := time.Parse(time.RFC3339Nano, f.Value)
	switch {
	case err != nil:
		*errs = append(*errs, problem.FieldError{Field: name, Message: "must be an RFC 3339 date-time, e.g. 2026-12-01T17:00:00Z"})
		return nil, false, true
	case !models.Storable(d):
		*errs = append(*errs, problem.FieldError{Field: name, Message: timeRangeMessage})
		return nil, false, true
	}
	d = d.UTC().Truncate(time.Microsecond)
	return &d, false, false
}

func normaliseTags(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// NewValidator returns validator v10 set up for task input: errors name the
// JSON field, and two text rules are added — nocontrol (no control
// characters at all, for titles and tags) and textonly (no control
// characters but tab and line breaks, for descriptions). Both keep NUL bytes,
// which PostgreSQL text cannot store, out of the database.
func NewValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("nocontrol", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), unicode.IsControl)
	})
	_ = v.RegisterValidation("textonly", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), func(r rune) bool {
			return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
		})
	})
	return v
}

// validationErrors turns validator's errors into field messages a frontend can show.
func validationErrors(err error) []problem.FieldError {
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return nil
	}
	out := make([]problem.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		// Namespace is "taskChanges.tags[3]"; drop the struct name.
		_, field, _ := strings.Cut(fe.Namespace(), ".")
		out = append(out, problem.FieldError{Field: field, Message: ruleMessage(fe)})
	}
	return out
}

func ruleMessage(fe validator.FieldError) string {
	list := fe.Kind() == reflect.Slice
	switch fe.Tag() {
	case "min":
		if fe.Param() == "1" {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %s characters", fe.Param())
	case "max":
		if list {
			return fmt.Sprintf("must have at most %s items", fe.Param())
		}
		return fmt.Sprintf("must be at most %s characters", fe.Param())
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "nocontrol":
		return "must not contain control characters"
	case "textonly":
		return "must not contain control characters other than tab and line breaks"
	}
	return "is not valid"
}

// unknownMembers reports names that are not members the request knows.
func unknownMembers(names []string, message string) []problem.FieldError {
	errs := make([]problem.FieldError, len(names))
	for i, n := range names {
		errs[i] = problem.FieldError{Field: problem.Truncate(n, 64), Message: message}
	}
	return errs
}

// timeRangeMessage explains models.Storable to a client.
const timeRangeMessage = "must lie between the years 0001 and 9999 in UTC"
