package middleware

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// MaxUserIDBytes bounds the sub claim, the user id every task row is keyed
// by. Better Auth's ids are 32 characters; 255 bytes leaves room for UUIDs
// and e-mail addresses, and keeps the id far below what a PostgreSQL index
// entry can hold (about 2.7 kB), which a longer one turns into a 500.
const MaxUserIDBytes = 255

// isRegistered reports whether name is one of the registered claims the
// service reads (RFC 7519 §4.1), spelled exactly.
func isRegistered(name string) bool {
	switch name {
	case "sub", "exp", "nbf", "iat", "iss", "aud", "jti":
		return true
	}
	return false
}

// caseVariant is the registered claim name that name spells in another
// case ("Sub", "EXP"), or "".
func caseVariant(name string) string {
	for _, r := range [...]string{"sub", "exp", "nbf", "iat", "iss", "aud", "jti"} {
		if name != r && strings.EqualFold(name, r) {
			return r
		}
	}
	return ""
}

// UnmarshalJSON reads the registered claims from the payload's exact
// lower-case members only. encoding/json's own struct decoding matches
// member names case-insensitively and lets the last duplicate win, so
// {"sub":"alice","Sub":"bob"} would be Bob and {"exp":<past>,"EXP":<future>}
// would never expire: wherever a signer copies user-chosen fields into the
// payload that is impersonation. A payload that repeats a member, spells a
// registered claim in another case, or gives one the wrong JSON type is
// refused, so that no reader of the same token can see another user in it.
func (c *Claims) UnmarshalJSON(data []byte) error {
	return members(data, "payload", func(name string, raw json.RawMessage) error {
		if !isRegistered(name) {
			if r := caseVariant(name); r != "" {
				return refuse(CodeClaimCaseVariant, fmt.Sprintf("The payload has %q; registered claims are read only from their exact lower-case names, so it must be %q.", clip(name), r))
			}
			return nil
		}
		switch name {
		case "exp", "nbf", "iat":
			// NumericDate alone also takes "1800000000" (a string).
			if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
				return refuse(CodeClaimType, fmt.Sprintf("The %s claim must be a JSON number (seconds since 1970), not %s.", name, jsonKind(raw)))
			}
			d := new(jwt.NumericDate)
			if err := d.UnmarshalJSON(raw); err != nil {
				return refuse(CodeClaimType, fmt.Sprintf("The %s claim is not a usable number.", name))
			}
			switch name {
			case "exp":
				c.ExpiresAt = d
			case "nbf":
				c.NotBefore = d
			default:
				c.IssuedAt = d
			}
		case "aud":
			// A string or an array of strings (RFC 7519 §4.1.3).
			if len(raw) == 0 || raw[0] != '"' && raw[0] != '[' || json.Unmarshal(raw, &c.Audience) != nil {
				return refuse(CodeClaimType, "The aud claim must be a string or an array of strings, not "+jsonKind(raw)+".")
			}
		default: // sub, iss, jti
			var s string
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
				return refuse(CodeClaimType, fmt.Sprintf("The %s claim must be a string, not %s.", name, jsonKind(raw)))
			}
			switch name {
			case "sub":
				c.Subject = s
			case "iss":
				c.Issuer = s
			default:
				c.ID = s
			}
		}
		return nil
	})
}

// members calls fn for each member of the JSON object data, in order, and
// refuses an object that names a member twice (RFC 7515 §4 and RFC 7519 §4
// let a parser either refuse or keep the last; keeping the last is what
// makes one token mean two things).
func members(data []byte, part string, fn func(name string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	malformed := refuse(CodeMalformed, "The token's "+part+" is not a JSON object.")
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return malformed
	}
	seen := make([]string, 0, 16)
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return malformed
		}
		if slices.Contains(seen, name) {
			return refuse(CodeClaimDuplicate, fmt.Sprintf("The token's %s has the member %q twice.", part, clip(name)))
		}
		seen = append(seen, name)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed
		}
		if err := fn(name, raw); err != nil {
			return err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return malformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed
	}
	return nil
}

// checkHeader refuses a header that repeats a member or lists critical
// extensions. The service understands no JWS extension, and RFC 7515
// §4.1.11 makes a token whose crit names one the recipient does not
// understand invalid (an empty or registered-name crit is invalid anyway).
func checkHeader(t *jwt.Token) error {
	if crit, ok := t.Header["crit"]; ok {
		return refuse(CodeCritUnsupported, fmt.Sprintf("The token's header lists critical extensions (crit: %s) this API does not understand.", clip(fmt.Sprint(crit))))
	}
	head, _, _ := strings.Cut(t.Raw, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return nil // golang-jwt decoded it its own way; its map is what counts
	}
	return members(raw, "header", func(string, json.RawMessage) error { return nil })
}

// unusableSubject says why sub cannot be a user id, or "" when it can: a
// user id is stored in every row and compared with the path, so it must be
// text both databases hold as is (PostgreSQL refuses NUL) and must not
// collapse into another id (invalid UTF-8 and lone surrogates decode to
// U+FFFD, so two different signed subjects would be one user).
func unusableSubject(sub string) string {
	if len(sub) > MaxUserIDBytes {
		return fmt.Sprintf("it is %d bytes long, over the %d-byte limit", len(sub), MaxUserIDBytes)
	}
	for _, r := range sub {
		switch {
		case r == utf8.RuneError:
			return "it is not valid UTF-8 (or holds a lone surrogate, or U+FFFD)"
		case unicode.IsControl(r):
			return fmt.Sprintf("it contains the control character %U", r)
		}
	}
	return ""
}

// jsonKind names the JSON type of raw for a refusal's detail.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// clip bounds text taken from a token before it is echoed in a detail.
func clip(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
