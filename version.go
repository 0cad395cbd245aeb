package main

import (
	"runtime/debug"

	"todo-api/metrics"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// Left empty (go run, go install), they come from the module's build info.
var (
	version string
	commit  string
)

// build says which build is running, for `todo-api version`, the start-up
// log line and the todo_api_build_info metric.
func build() metrics.Build {
	b := metrics.Build{Version: version, Commit: commit}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" {
			b.Version = info.Main.Version // "(devel)" for a plain go build
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}
