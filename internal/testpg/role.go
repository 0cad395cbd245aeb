package testpg

import (
	"net/url"
	"testing"
)

// AppRole is the login role that AppRoleURL connects as: not a superuser,
// not the owner of anything, without BYPASSRLS — a role that row-level
// security binds, as the README tells production to create.
const AppRole = "todo_app"

// AppRoleURL makes sure AppRole exists on the server, grants it what the
// service needs on everything already in dsn's database (run it after the
// migration), and returns dsn with AppRole as the user.
func AppRoleURL(t testing.TB, dsn string) string {
	t.Helper()
	s := get(t)
	// Tests run in parallel and the role is server-wide: a concurrent
	// CREATE ROLE may fail either way.
	if _, err := s.exec(`DO $$ BEGIN
		CREATE ROLE ` + AppRole + ` LOGIN PASSWORD '` + AppRole + `' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`); err != nil {
		if out, _ := s.exec("SELECT 1 FROM pg_roles WHERE rolname = '" + AppRole + "'"); out != "1" {
			t.Fatalf("testpg: creating role %s: %v", AppRole, err)
		}
	}
	if _, err := runPSQL(s.psql, dsn, `GRANT USAGE ON SCHEMA public TO `+AppRole+`;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+AppRole+`;
		GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO `+AppRole); err != nil {
		t.Fatalf("testpg: granting %s: %v", AppRole, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	u.User = url.UserPassword(AppRole, AppRole)
	return u.String()
}
