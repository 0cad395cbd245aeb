package blackbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmePath is the README whose curl session TestReadmeCurl runs.
const readmePath = "../README.md"

// TestReadmeCurl runs the README's curl session as a newcomer would: against
// a freshly started binary with nothing configured, with the token its
// start-up output prints, in sh. It runs the block twice, so that it also
// works on a database that is no longer empty. Every curl call's status must
// be one the block announces in that line's comment (# 412: …) or, where
// the line announces none, a 2xx, 304 or 412.
func TestReadmeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed; the README's session cannot run here")
	}
	block := readmeBlock(t, "## Try it with curl")
	if strings.Contains(block, "jq ") {
		t.Error("the curl session uses jq, which a newcomer may not have")
	}
	lines := curlLines(block)
	if len(lines) < 5 {
		t.Fatalf("the block has %d curl calls; is it still the curl session?\n%s", len(lines), block)
	}

	// As `go run .` starts on a newcomer's machine: no secret, no database.
	svc := launch(t, spec{noSecret: true})
	svc.ready()
	token := bannerToken(t, svc)
	port := svc.port

	script := block
	for _, want := range []string{"\nTOKEN=", "http://localhost:8000"} {
		if !strings.Contains("\n"+script, want) {
			t.Fatalf("the block has no %q to point at this server:\n%s", want, block)
		}
	}
	script = regexp.MustCompile(`(?m)^TOKEN=.*$`).ReplaceAllString(script, "TOKEN="+token)
	script = strings.ReplaceAll(script, "http://localhost:8000", "http://127.0.0.1:"+port)

	trace := t.TempDir()
	wrapper := fmt.Sprintf(`#!/bin/sh
# Records the status of every call the block makes, in order.
h=$(mktemp %[1]q/h.XXXXXX) || exit 1
%[2]q -D "$h" "$@"
rc=$?
code=$(sed -n 's/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$h" | tail -n 1)
echo "${code:-none}" >> %[1]q/statuses
exit $rc
`, trace, curl)
	if err := os.WriteFile(filepath.Join(trace, "curl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}

	for run := 1; run <= 2; run++ {
		t.Run(fmt.Sprintf("run %d", run), func(t *testing.T) {
			_ = os.Remove(filepath.Join(trace, "statuses"))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", script)
			cmd.Dir = t.TempDir()
			cmd.Env = []string{"PATH=" + trace + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + cmd.Dir}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sh: %v\n%s", err, out)
			}
			if !regexp.MustCompile(`(?m)^task [0-9]+$`).Match(out) {
				t.Errorf("the session did not capture the new task's id:\n%s", out)
			}
			raw, err := os.ReadFile(filepath.Join(trace, "statuses"))
			if err != nil {
				t.Fatal(err)
			}
			statuses := strings.Fields(string(raw))
			if len(statuses) != len(lines) {
				t.Fatalf("%d curl calls answered, the block has %d:\n%s", len(statuses), len(lines), out)
			}
			for i, l := range lines {
				if !l.allows(statuses[i]) {
					t.Errorf("%s\nanswered %s; announced: %v (else 2xx, 304 or 412)", l.text, statuses[i], l.announced)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// readmeBlock returns the first ```sh block after heading in the README.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no heading %q", readmePath, heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("no sh block under %q", heading)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatalf("the sh block under %q does not end", heading)
	}
	return block
}

// bannerToken returns the token the development welcome's curl lines
// carry, waiting for the welcome to be written.
func bannerToken(t *testing.T, svc *service) string {
	t.Helper()
	bearer := regexp.MustCompile(`Bearer (eyJ[A-Za-z0-9_.-]+)`)
	var m []string
	if !eventually(10*time.Second, func() bool { m = bearer.FindStringSubmatch(svc.stderr.String()); return m != nil }) {
		t.Fatalf("the start-up output has no curl line with a token:\n%s", svc.stderr.String())
	}
	return m[1]
}

// curlLine is one line of the block that calls curl, with the statuses its
// comment announces.
type curlLine struct {
	text      string
	announced []string
}

// allows reports whether status is an answer the block lets this line get.
func (l curlLine) allows(status string) bool {
	if len(l.announced) > 0 {
		for _, a := range l.announced {
			if a == status {
				return true
			}
		}
		return false
	}
	code, err := strconv.Atoi(status)
	return err == nil && (code/100 == 2 || code == 304 || code == 412)
}

// curlLines lists the block's lines that call curl, one call a line.
func curlLines(block string) []curlLine {
	var out []curlLine
	status := regexp.MustCompile(`\b[1-5][0-9][0-9]\b`)
	for _, line := range strings.Split(block, "\n") {
		code, comment := splitComment(line)
		for range regexp.MustCompile(`(^|[\s(|;])curl\s`).FindAllStringIndex(code, -1) {
			out = append(out, curlLine{text: line, announced: status.FindAllString(comment, -1)})
		}
	}
	return out
}

// splitComment cuts a shell line at its comment: a # that starts a word
// outside quotes.
func splitComment(line string) (code, comment string) {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return line[:i], line[i+1:]
		}
		prev = r
	}
	return line, ""
}
