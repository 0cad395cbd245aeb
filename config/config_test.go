package config

import (
	"strings"
	"testing"
)

func lookup(env map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; "" means no error
		check   func(Config) string
	}{
		{"defaults", map[string]string{}, "", func(c Config) string {
			if c.Port != 8000 || c.Env != Development || c.Database.Driver != SQLite || c.Database.DSN != "todo.db" ||
				!c.Auth.SecretGenerated || len(c.Auth.Secret) != 32 || len(c.CORSOrigins) != 1 || c.CORSOrigins[0] != "http://localhost:3000" {
				return "unexpected defaults"
			}
			return ""
		}},
		{"postgres URL", map[string]string{"DATABASE_URL": "postgresql://u:pw@host/db?sslmode=require"}, "", func(c Config) string {
			if c.Database.Driver != Postgres || strings.Contains(c.Database.Redacted(), "pw") {
				return "postgres not chosen or password shown: " + c.Database.Redacted()
			}
			return ""
		}},
		{"sqlite URL", map[string]string{"DATABASE_URL": "sqlite:///var/data/todo.db?cache=shared"}, "", func(c Config) string {
			if c.Database.Driver != SQLite || c.Database.DSN != "/var/data/todo.db" {
				return "sqlite path " + c.Database.DSN
			}
			return ""
		}},
		{"file URL", map[string]string{"DATABASE_URL": "file:data.db"}, "", func(c Config) string {
			if c.Database.DSN != "data.db" {
				return "file path " + c.Database.DSN
			}
			return ""
		}},
		{"secret", map[string]string{"BETTER_AUTH_SECRET": secret}, "", func(c Config) string {
			if string(c.Auth.Secret) != secret || c.Auth.SecretGenerated || c.Auth.Issuer != "" {
				return "secret not taken"
			}
			return ""
		}},
		{"Better Auth URL sets JWKS, issuer and audience", map[string]string{"BETTER_AUTH_URL": "http://localhost:3000/"}, "", func(c Config) string {
			a := c.Auth
			if a.JWKSURL != "http://localhost:3000/api/auth/jwks" || a.Issuer != "http://localhost:3000" || a.Audience != "http://localhost:3000" || a.Secret != nil {
				return "better auth defaults wrong"
			}
			return ""
		}},
		{"overrides", map[string]string{"BETTER_AUTH_URL": "http://a", "BETTER_AUTH_JWKS_URL": "http://k/jwks", "JWT_ISSUER": "i", "JWT_AUDIENCE": "au"}, "", func(c Config) string {
			if c.Auth.JWKSURL != "http://k/jwks" || c.Auth.Issuer != "i" || c.Auth.Audience != "au" {
				return "overrides ignored"
			}
			return ""
		}},
		{"default JWKS algorithms", map[string]string{"BETTER_AUTH_URL": "http://a"}, "", func(c Config) string {
			if strings.Join(c.Auth.Algorithms, ",") != "EdDSA,ES256,ES512,PS256,RS256" {
				return "algorithms " + strings.Join(c.Auth.Algorithms, ",")
			}
			return ""
		}},
		{"JWT_ALGORITHMS", map[string]string{"BETTER_AUTH_URL": "http://a", "JWT_ALGORITHMS": " RS256, EdDSA,RS256 ,"}, "", func(c Config) string {
			if strings.Join(c.Auth.Algorithms, ",") != "RS256,EdDSA" {
				return "algorithms " + strings.Join(c.Auth.Algorithms, ",")
			}
			return ""
		}},
		{"JWT_ALGORITHMS with HS256", map[string]string{"BETTER_AUTH_URL": "http://a", "JWT_ALGORITHMS": "EdDSA,HS256"}, "BETTER_AUTH_SECRET only", nil},
		{"JWT_ALGORITHMS with none", map[string]string{"BETTER_AUTH_URL": "http://a", "JWT_ALGORITHMS": "none"}, "JWT_ALGORITHMS", nil},
		{"JWT_ALGORITHMS empty list", map[string]string{"BETTER_AUTH_URL": "http://a", "JWT_ALGORITHMS": " , "}, "names no algorithm", nil},
		{"Better Auth URL without a scheme", map[string]string{"BETTER_AUTH_URL": "localhost:3000"}, "BETTER_AUTH_URL", nil},
		{"JWKS URL not http", map[string]string{"BETTER_AUTH_JWKS_URL": "file:///etc/jwks.json"}, "BETTER_AUTH_JWKS_URL", nil},
		{"CORS list", map[string]string{"CORS_ORIGINS": " https://a.example , https://b.example/ ,"}, "", func(c Config) string {
			if strings.Join(c.CORSOrigins, "|") != "https://a.example|https://b.example" {
				return "origins " + strings.Join(c.CORSOrigins, "|")
			}
			return ""
		}},
		{"production without auth", map[string]string{"APP_ENV": "production"}, "BETTER_AUTH_SECRET", nil},
		{"production with a secret", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret, "DATABASE_URL": "postgres://u@h/db"}, "", nil},
		{"production with Better Auth only", map[string]string{"APP_ENV": "production", "BETTER_AUTH_URL": "https://auth.example", "DATABASE_URL": "postgres://u@h/db"}, "", nil},
		{"production without a database", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret}, "DATABASE_URL must be set", nil},
		{"production without a database names PostgreSQL", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret}, "postgres://", nil},
		{"production without a database names SQLite on a volume", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret}, "sqlite:/", nil},
		{"production with a blank database", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret, "DATABASE_URL": "  "}, "DATABASE_URL must be set", nil},
		{"production with SQLite on a volume", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": secret, "DATABASE_URL": "sqlite:/data/todo.db"}, "", func(c Config) string {
			if c.Database.Driver != SQLite || c.Database.DSN != "/data/todo.db" {
				return "sqlite path " + c.Database.DSN
			}
			return ""
		}},
		{"development keeps the SQLite default", map[string]string{"APP_ENV": "development"}, "", func(c Config) string {
			if c.Database.Driver != SQLite || c.Database.DSN != "todo.db" {
				return "development default " + c.Database.DSN
			}
			return ""
		}},
		{"short secret", map[string]string{"BETTER_AUTH_SECRET": "short"}, "at least 32 bytes", nil},
		{"short secret in production", map[string]string{"APP_ENV": "production", "BETTER_AUTH_SECRET": "short"}, "at least 32 bytes", nil},
		{"bad env", map[string]string{"APP_ENV": "staging"}, "APP_ENV", nil},
		{"bad port", map[string]string{"PORT": "http"}, "PORT", nil},
		{"bad database", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL", nil},
		{"unparseable postgres URL keeps its password quiet", map[string]string{"DATABASE_URL": "postgres://u:hunter2@%zz/db"}, "DATABASE_URL", func(Config) string { return "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(lookup(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				if msg := tc.check(cfg); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func TestRowLevelSecurity(t *testing.T) {
	pg := "postgres://u@h/db"
	cases := []struct {
		env     map[string]string
		want    bool
		wantErr string
	}{
		{map[string]string{"DATABASE_URL": pg}, false, ""},
		{map[string]string{"DATABASE_URL": pg, "DB_ROW_LEVEL_SECURITY": "on"}, true, ""},
		{map[string]string{"DATABASE_URL": pg, "DB_ROW_LEVEL_SECURITY": "TRUE"}, true, ""},
		{map[string]string{"DATABASE_URL": pg, "DB_ROW_LEVEL_SECURITY": "off"}, false, ""},
		{map[string]string{"DATABASE_URL": pg, "DB_ROW_LEVEL_SECURITY": "maybe"}, false, "DB_ROW_LEVEL_SECURITY must be on or off"},
		{map[string]string{"DB_ROW_LEVEL_SECURITY": "on"}, false, "needs PostgreSQL"},
		{map[string]string{"DB_ROW_LEVEL_SECURITY": "off"}, false, ""},
	}
	for _, tc := range cases {
		c, err := Load(lookup(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.Database.RowLevelSecurity != tc.want {
			t.Errorf("%v: %v %v", tc.env, c.Database.RowLevelSecurity, err)
		}
	}
}
