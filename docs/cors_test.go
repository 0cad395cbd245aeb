package docs

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCORSSection checks that the document as served names every method and
// header of CORS(), and that the marker it replaces is gone.
func TestCORSSection(t *testing.T) {
	raw, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info struct {
			Description string `json:"description"`
		} `json:"info"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(doc.Info.Description, "## CORS")
	if !ok {
		t.Fatal("the description has no CORS section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	p := CORS()
	cases := []struct {
		list  string
		names []string
		quote string
	}{
		{"methods", p.Methods, ""},
		{"request headers", p.AllowHeaders, "`"},
		{"exposed headers", p.ExposeHeaders, "`"},
	}
	for _, tc := range cases {
		if len(tc.names) == 0 {
			t.Errorf("CORS() has no %s", tc.list)
		}
		for _, name := range tc.names {
			if !strings.Contains(section, tc.quote+name+tc.quote) {
				t.Errorf("the CORS section does not name the %s entry %s:\n%s", tc.list, name, section)
			}
		}
	}
	if strings.Contains(string(raw), "CORS lists:") {
		t.Error("the served document still holds the marker")
	}
	if !strings.Contains(section, "read the response headers "+codeList(p.ExposeHeaders)+".") {
		t.Errorf("exposed headers not listed in order:\n%s", section)
	}
}

func TestWithCORSNeedsTheMarker(t *testing.T) {
	for _, doc := range []string{"info:\n  description: none\n", "a: " + corsMarker + "\nb: " + corsMarker + "\n"} {
		if _, err := withCORS([]byte(doc), CORS()); err == nil {
			t.Errorf("%q: want an error", doc)
		}
	}
}
