package controllers

import (
	"bytes"
	"testing"
)

// FuzzDecodeCursor: whatever a client sends as since, the decoder does not
// panic, accepts a cursor for one user only (every user whose tag differs
// from its owner's refuses it), and what it accepts is a cursor it could
// have written: positions in range, known at or after pos, and encoding
// it again gives a cursor that reads back the same.
func FuzzDecodeCursor(f *testing.F) {
	for _, seed := range []struct{ cursor, owner, other string }{
		{encodeCursor(0, "alice"), "alice", "bob"},
		{encodeCursor(42, "alice"), "alice", "bob"},
		{encodeSyncCursor(feedCursor{pos: 3, known: 9}, "kJ9x2"), "kJ9x2", "alice"},
		{encodeSyncCursor(feedCursor{pos: 9, known: 3}, "alice"), "alice", "bob"},
		{encodeCursor(1<<62+1, "alice"), "alice", ""},
		{"c_", "alice", "bob"},
		{"c_AAAAAAAAAAQr2AbJ=", "alice", "bob"},
		{"c_////////////////", "alice", "bob"},
		{"42", "", "alice"},
	} {
		f.Add(seed.cursor, seed.owner, seed.other)
	}
	f.Fuzz(func(t *testing.T, s, owner, other string) {
		c, ok := decodeFeedCursor(s, owner)
		if pos, posOK := decodeCursor(s, owner); posOK != ok || pos != c.pos {
			t.Fatalf("decodeCursor and decodeFeedCursor disagree on %q", s)
		}
		if !ok {
			return
		}
		if c.pos < 0 || c.known < c.pos || c.known > 1<<62 {
			t.Fatalf("%q accepted as %+v", s, c)
		}
		if !bytes.Equal(userTag(owner), userTag(other)) {
			if _, ok := decodeFeedCursor(s, other); ok {
				t.Fatalf("%q is %q's cursor and %q's too", s, owner, other)
			}
		}
		again := encodeSyncCursor(c, owner)
		if c.known == c.pos {
			again = encodeCursor(c.pos, owner)
		}
		if back, ok := decodeFeedCursor(again, owner); !ok || back != c {
			t.Fatalf("%+v encoded as %q reads back as %+v, %v", c, again, back, ok)
		}
	})
}
