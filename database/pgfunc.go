package database

import (
	"fmt"

	"gorm.io/gorm"
)

// pgTriggered is a trigger function and the triggers that run it, each
// named with the statement that creates it.
type pgTriggered struct {
	function, body string
	triggers       []pgTrigger
}

type pgTrigger struct{ name, create string }

// steps returns the statements that (re)create the function and all its
// triggers, or none when the function has this body and its triggers are
// complete: a serving role that owns nothing must find nothing to do.
func (f pgTriggered) steps(tx *gorm.DB) ([]string, error) {
	steps, _, err := f.plan(tx)
	return steps, err
}

// plan is steps, and whether the triggers were all in place before.
func (f pgTriggered) plan(tx *gorm.DB) (steps []string, triggered bool, err error) {
	current, err := pgFunctionSource(tx, f.function)
	if err != nil {
		return nil, false, err
	}
	if current != "" {
		if triggered, err = f.complete(tx); err != nil {
			return nil, false, err
		}
	}
	if current == f.body && triggered {
		return nil, true, nil
	}
	steps = []string{pgTriggerFunction(f.function, f.body)}
	for _, t := range f.triggers {
		steps = append(steps, t.create)
	}
	return steps, triggered, nil
}

// complete reports whether every trigger is there and runs the function.
// The triggers are checked by name, not inferred from the function: a table
// dropped and created again (a restore, the benchmark's reseed) loses its
// triggers and keeps the function.
func (f pgTriggered) complete(tx *gorm.DB) (bool, error) {
	names := make([]string, len(f.triggers))
	for i, t := range f.triggers {
		names[i] = t.name
	}
	var present int
	err := tx.Raw(`SELECT count(*) FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal AND t.tgname IN ?
		AND t.tgfoid = (SELECT oid FROM pg_proc WHERE proname = ? AND pronamespace = current_schema()::regnamespace)`,
		names, f.function).Scan(&present).Error
	if err != nil {
		return false, fmt.Errorf("reading the triggers of %s: %w", f.function, err)
	}
	return present == len(names), nil
}

// pgFunctionSource is the body of the function name in the current schema,
// or "" when there is none: a migration compares it with what it would
// create, so that a serving role that owns nothing finds nothing to do.
func pgFunctionSource(tx *gorm.DB, name string) (string, error) {
	var current string
	err := tx.Raw(`SELECT coalesce((SELECT prosrc FROM pg_proc WHERE proname = ? AND pronamespace = current_schema()::regnamespace), '')`, name).
		Scan(&current).Error
	if err != nil {
		return "", fmt.Errorf("reading the function %s: %w", name, err)
	}
	return current, nil
}

// pgTriggerFunction (re)creates a trigger function that runs as the tables'
// owner, with the search path of the migration.
func pgTriggerFunction(name, body string) string {
	return "CREATE OR REPLACE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$" + body + "$fn$"
}
