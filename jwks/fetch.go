package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
)

// maxBody bounds a key set's size: Better Auth's holds a few keys of well
// under 1 KiB each, and a misconfigured URL must not fill the memory.
const maxBody = 1 << 20

// fetchError is a failed fetch: reason is safe to show on /readyz, err (with
// addresses and library text) goes to the log only.
type fetchError struct {
	reason string
	err    error
}

func (e *fetchError) Error() string {
	if e.err == nil {
		return e.reason
	}
	return e.reason + ": " + e.err.Error()
}

func (e *fetchError) Unwrap() error { return e.err }

// reason is the words of err fit for /readyz: keyfunc returns the HTTP
// client's own errors unwrapped, and those name the address.
func reason(err error) string {
	var fe *fetchError
	var ne net.Error
	switch {
	case errors.As(err, &fe):
		return fe.reason
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.As(err, &ne):
		return "unreachable"
	}
	return "fetch failed"
}

// request is keyfunc's RequestFactory: a plain GET that asks for JSON.
func request(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &fetchError{"the JWKS URL is not valid", err}
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// accept is keyfunc's ResponseExtractor: it decides what counts as the key
// set (a 200 of at most maxBody bytes holding a "keys" array), hands
// keyfunc only the keys that may verify signatures, and records the fetch.
// An error keeps the keys already loaded.
func (s *Set) accept(_ context.Context, res *http.Response) (json.RawMessage, error) {
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &fetchError{fmt.Sprintf("answered HTTP %d", res.StatusCode), nil}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return nil, &fetchError{"the response could not be read", err}
	}
	if len(body) > maxBody {
		return nil, &fetchError{"the response is larger than 1 MiB", nil}
	}
	raw, kids, err := usableKeys(body)
	if err != nil {
		return nil, &fetchError{"the response is not a JSON Web Key Set", err}
	}
	s.loadedKids(kids)
	return raw, nil
}

// usableKeys keeps the keys of a JWKS document that may verify signatures,
// for keyfunc to parse, and returns their kids, sorted. keyfunc itself takes
// symmetric ("oct") keys too, which have no place in a public key set.
// Better Auth's keys carry no "use" (older versions no "alg" either), so an
// absent "use" is accepted, as RFC 7517 allows.
func usableKeys(body []byte) (json.RawMessage, []string, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, err
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`no "keys" array`)
	}
	kept := make([]json.RawMessage, 0, len(doc.Keys))
	var kids []string
	for _, raw := range doc.Keys {
		var k struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			Kid string `json:"kid"`
			Use string `json:"use"`
		}
		if json.Unmarshal(raw, &k) != nil || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch {
		case k.Kty == "RSA", k.Kty == "EC", k.Kty == "OKP" && k.Crv == "Ed25519":
			kept = append(kept, raw)
			kids = append(kids, k.Kid)
		}
	}
	slices.Sort(kids)
	raw, err := json.Marshal(map[string]any{"keys": kept})
	return raw, slices.Compact(kids), err
}
