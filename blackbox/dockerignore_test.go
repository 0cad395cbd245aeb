package blackbox_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerContext reports whether Docker would send path (slash-separated,
// relative to the repository root) to the builder, reading .dockerignore
// with Docker's own matcher.
func dockerContext(t *testing.T) func(path string) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) bool {
		excluded, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return !excluded
	}
}

// TestDockerignore checks both halves of .dockerignore: every file that
// `go build .` reads (the Go files and embedded files of every package of
// this module the binary is built from, go.mod and go.sum) is sent, and the
// large or private things are not, wherever they are.
func TestDockerignore(t *testing.T) {
	sent := dockerContext(t)
	root := repoRoot(t)
	needed := []string{"go.mod", "go.sum"}
	list := exec.Command("go", "list", "-deps", "-json", ".")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var pkg struct {
			Dir        string
			Module     *struct{ Main bool }
			GoFiles    []string
			EmbedFiles []string
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		for _, name := range append(pkg.GoFiles, pkg.EmbedFiles...) {
			rel, err := filepath.Rel(root, filepath.Join(pkg.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			needed = append(needed, filepath.ToSlash(rel))
		}
	}
	if len(needed) < 20 {
		t.Fatalf("only %d files found for the build: %v", len(needed), needed)
	}
	for _, path := range needed {
		if !sent(path) {
			t.Errorf("%s is needed by go build but .dockerignore leaves it out", path)
		}
	}

	for _, path := range []string{
		"e2e/node_modules/newman/index.js",
		"e2e/better-auth/node_modules/pg/lib/index.js",
		"clients/typescript/node_modules/typescript/lib/tsc.js",
		"docs/node_modules/anything.js", // a node_modules wherever one appears
		"bench/out/report.md",
		"bench/out/results.tsv",
		".env",
		".env.production",
		"todo-api",
		"todo.db",
		"todo.db-wal",
		"server/todo.db",
		"server/server.test",
		"clients/typescript/todo-api-client-1.0.0.tgz",
		"cpu.prof",
		"coverage.out",
	} {
		if sent(path) {
			t.Errorf("%s would be sent to the Docker builder", path)
		}
	}
}

// TestFlySQLiteVolume checks the SQLite choice that fly.toml documents in
// comments: uncommented, its [mounts] section is valid and mounts the
// volume the comment creates where the comment's DATABASE_URL points.
func TestFlySQLiteVolume(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "fly.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	var volume, database string
	inMounts := false
	for _, line := range strings.Split(string(raw), "\n") {
		text, commented := strings.CutPrefix(line, "# ")
		switch {
		case !commented:
			inMounts = false
		case strings.TrimSpace(text) == "[mounts]":
			inMounts = true
			block = append(block, text)
		case inMounts:
			block = append(block, text)
		case strings.Contains(text, "fly volumes create "):
			volume = strings.Fields(strings.SplitN(text, "fly volumes create ", 2)[1])[0]
		case strings.Contains(text, "DATABASE_URL=sqlite:"):
			database = strings.Fields(strings.SplitN(text, "DATABASE_URL=", 2)[1])[0]
		}
	}
	var fly struct {
		Mounts struct {
			Source      string `toml:"source"`
			Destination string `toml:"destination"`
		} `toml:"mounts"`
	}
	if _, err := toml.Decode(strings.Join(block, "\n"), &fly); err != nil {
		t.Fatalf("the commented [mounts] section does not parse: %v\n%s", err, strings.Join(block, "\n"))
	}
	m := fly.Mounts
	if m.Source == "" || m.Source != volume {
		t.Errorf("[mounts] source %q, but the comment creates the volume %q", m.Source, volume)
	}
	path, ok := strings.CutPrefix(database, "sqlite:")
	if !ok || m.Destination == "" || !strings.HasPrefix(path, m.Destination+"/") {
		t.Errorf("DATABASE_URL %q is not on the volume mounted at %q", database, m.Destination)
	}
}

// repoRoot is the repository's root, the folder above this one.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
