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
	"time"

	"github.com/MicahParks/keyfunc/v2"
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

// download fetches and parses the key set at url, and returns it with the
// kids of its usable keys, sorted.
func download(ctx context.Context, client *http.Client, url string, timeout time.Duration) (*keyfunc.JWKS, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, &fetchError{"the JWKS URL is not valid", err}
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		reason := "unreachable"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason = "timed out"
		}
		return nil, nil, &fetchError{reason, err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, &fetchError{fmt.Sprintf("answered HTTP %d", res.StatusCode), nil}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return nil, nil, &fetchError{"the response could not be read", err}
	}
	if len(body) > maxBody {
		return nil, nil, &fetchError{"the response is larger than 1 MiB", nil}
	}
	raw, err := usableKeys(body)
	if err != nil {
		return nil, nil, &fetchError{"the response is not a JSON Web Key Set", err}
	}
	set, err := keyfunc.NewJSON(raw)
	if err != nil {
		return nil, nil, &fetchError{"the response is not a JSON Web Key Set", err}
	}
	kids := set.KIDs()
	slices.Sort(kids)
	return set, kids, nil
}

// usableKeys keeps the keys of a JWKS document that may verify signatures,
// for keyfunc to parse. keyfunc.NewJSON itself checks no "use" and takes
// symmetric ("oct") keys too, which have no place in a public key set.
// Better Auth's keys carry no "use" (older versions no "alg" either), so an
// absent "use" is accepted, as RFC 7517 allows.
func usableKeys(body []byte) (json.RawMessage, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if doc.Keys == nil {
		return nil, errors.New(`no "keys" array`)
	}
	kept := make([]json.RawMessage, 0, len(doc.Keys))
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
		}
	}
	return json.Marshal(map[string]any{"keys": kept})
}
