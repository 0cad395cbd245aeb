package config

import (
	"strings"
	"testing"
)

// TestLoadEvents: the stream caps' defaults, values and refusals.
func TestLoadEvents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Events
		wantErr string
	}{
		{"defaults", map[string]string{}, Events{PerUser: 10, Max: 10000}, ""},
		{"set", map[string]string{"EVENTS_PER_USER": "3", "EVENTS_MAX": "50"}, Events{PerUser: 3, Max: 50}, ""},
		{"zero per user", map[string]string{"EVENTS_PER_USER": "0"}, Events{}, "EVENTS_PER_USER"},
		{"zero max", map[string]string{"EVENTS_MAX": "0"}, Events{}, "EVENTS_MAX"},
		{"not a number", map[string]string{"EVENTS_MAX": "lots"}, Events{}, "EVENTS_MAX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(lookup(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.Events != tc.want {
				t.Fatalf("events %+v, %v; want %+v", cfg.Events, err, tc.want)
			}
		})
	}
}
