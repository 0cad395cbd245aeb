// Package layout_test holds the repository's import rule to the code: a
// package imports only packages on a lower floor of the map in
// docs/layout.md, so that reading from the bottom up never meets a name
// defined further up.
package layout_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "todo-api"

// floors is the map of docs/layout.md: main on top, the packages that import
// nothing of the project at the bottom. internal/ packages that import
// nothing of the project (test helpers, internal/orderkey) sit below it.
var floors = map[string]int{
	"":                  5, // main
	"server":            4,
	"controllers":       3,
	"agents":            3,
	"database":          2,
	"middleware":        2,
	"config":            1,
	"models":            1,
	"jwks":              1,
	"problem":           1,
	"ratelimit":         1,
	"metrics":           1,
	"docs":              1,
	"events":            1,
	"internal/jsonbody": 2,
}

// TestImportsRunDown fails when a package imports one on its own floor or
// above, or when a package is not on the map: a new package takes its floor
// in docs/layout.md and here. bench/, e2e/ and blackbox/ import nothing of
// the project (they run the binary) and are left out.
func TestImportsRunDown(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := map[string]map[string]bool{} // package dir -> project imports
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" ||
			name == "bench" || name == "e2e" || name == "blackbox" || name == "clients") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		if dir == "." {
			dir = ""
		}
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			if rest, ok := strings.CutPrefix(p, module+"/"); ok {
				imports[dir][rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < len(floors)-1 {
		t.Fatalf("read only %d packages; is the walk rooted at the repository?", len(imports))
	}
	for dir, deps := range imports {
		floor, ok := floors[dir]
		if !ok && strings.HasPrefix(dir, "internal/") {
			floor, ok = 0, len(deps) == 0 // leaf helpers: below the bottom floor
		}
		if !ok {
			t.Errorf("package %q is not on the map (docs/layout.md and floors here)", dir)
			continue
		}
		for dep := range deps {
			depFloor, known := floors[dep]
			if !known && strings.HasPrefix(dep, "internal/") && len(imports[dep]) == 0 {
				depFloor, known = 0, true // a leaf helper, below everything
			}
			if !known || depFloor >= floor {
				t.Errorf("%q (floor %d) imports %q (floor %d): imports run down the map", dir, floor, dep, depFloor)
			}
		}
	}
}
