// Package orderkey makes fractional order keys: strings whose byte order is
// the order of the rows that carry them, so that a row can be put between
// two others by giving it a key between theirs, without renumbering anyone.
//
// The format and KeyBetween are those of rocicorp/fractional-indexing (CC0),
// after David Greenspan's "Implementing Fractional Indexing": base-62
// digits, an integer part whose first character says how long it is (so
// that appending and prepending grow a key only logarithmically), and a
// fractional part without trailing zeros. No maintained Go port is served
// by the module proxy, so the algorithm lives here, with its fuzz test.
//
// Two kinds of key are the service's own, both valid in that format:
// ForTime, the key of a row that goes first (its head 'i' sorts below every
// Ranked key and, being decreasing in time, below every earlier ForTime
// key), and Ranked, the keys of a renumbered group (head 'j').
package orderkey

import (
	"errors"
	"strings"
	"time"
)

// Digits are the base-62 digits in byte order.
const Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MaxLen is the longest key the service stores. Moves into the same gap
// lengthen keys by about one character every six moves; a key that would
// be longer than this is not stored, and its group is renumbered instead.
const MaxLen = 48

// smallestInteger is the one integer part no key can go before.
var smallestInteger = "A" + strings.Repeat("0", 26)

// ErrInvalid is a key that is not in the format, or bounds out of order.
var ErrInvalid = errors.New("invalid order key")

// timeDigits is the width of ForTime's integer part: 62^9 µs is 428 years.
const timeDigits = 9

var timeEpoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// ForTime is the key of a row that goes first at instant t: it decreases as
// t grows, so a row made later sorts before every row made earlier, and it
// sorts before every key that KeyBetween made from earlier ones (they all
// lie above the ForTime of their own moment). It needs no read of the
// current first key, which keeps a create one statement.
func ForTime(t time.Time) string {
	// UnixMicro, not Sub: a time.Duration ends after 292 years.
	us := t.UnixMicro() - timeEpoch.UnixMicro()
	const span = int64(62*62*62) * 62 * 62 * 62 * 62 * 62 * 62 // 62^9
	v := span - 1 - max(us, 0)
	v = max(v, 0)
	b := make([]byte, 1+timeDigits)
	b[0] = 'i'
	for i := timeDigits; i >= 1; i-- {
		b[i] = Digits[v%62]
		v /= 62
	}
	return string(b)
}

// RankedSQL returns the SQL expression of the n-th (1-based) Ranked key for
// an integer expression n: 'j' and n in ten decimal digits, which are
// base-62 digits too, so the keys are valid and in the order of n. Every
// Ranked key sorts after every ForTime key.
func RankedSQL(postgres bool, n string) string {
	if postgres {
		return "'j' || lpad(CAST(" + n + " AS text), 10, '0')"
	}
	return "'j' || substr('0000000000' || (" + n + "), -10)"
}

// Valid reports whether key is in the format.
func Valid(key string) bool {
	if key == "" || key == smallestInteger {
		return false
	}
	n, ok := integerLength(key[0])
	if !ok || n > len(key) {
		return false
	}
	for i := 1; i < len(key); i++ {
		if strings.IndexByte(Digits, key[i]) < 0 {
			return false
		}
	}
	return key[len(key)-1] != '0' || len(key) == n
}

// KeyBetween returns a key that sorts strictly between a and b; "" stands
// for no bound on that side. It fails for a key that is not Valid and for
// a ≥ b (equal keys, say, which two concurrent moves into one gap make:
// their order is by id, so no key lies between them until the group is
// renumbered).
func KeyBetween(a, b string) (string, error) {
	if (a != "" && !Valid(a)) || (b != "" && !Valid(b)) || (a != "" && b != "" && a >= b) {
		return "", ErrInvalid
	}
	if a == "" {
		if b == "" {
			return "a0", nil
		}
		ib := b[:mustLength(b[0])]
		fb := b[len(ib):]
		if ib == smallestInteger {
			return ib + midpoint("", fb), nil
		}
		if ib < b {
			return ib, nil
		}
		return decrementInteger(ib)
	}
	ia := a[:mustLength(a[0])]
	fa := a[len(ia):]
	if b == "" {
		if i, ok := incrementInteger(ia); ok {
			return i, nil
		}
		return ia + midpoint(fa, ""), nil
	}
	ib := b[:mustLength(b[0])]
	fb := b[len(ib):]
	if ia == ib {
		return ia + midpoint(fa, fb), nil
	}
	i, ok := incrementInteger(ia)
	if !ok {
		return "", ErrInvalid
	}
	if i < b {
		return i, nil
	}
	return ia + midpoint(fa, ""), nil
}

// midpoint is a fraction strictly between fractions a and b ("" for b is
// 1), neither with a trailing zero, a < b.
func midpoint(a, b string) string {
	if b != "" {
		// Drop the common prefix, reading a as padded with zeros; b
		// cannot end inside it, as a < b.
		n := 0
		for n < len(b) && digitAt(a, n) == b[n] {
			n++
		}
		if n > 0 {
			return b[:n] + midpoint(tail(a, n), b[n:])
		}
	}
	da := 0
	if a != "" {
		da = strings.IndexByte(Digits, a[0])
	}
	db := len(Digits)
	if b != "" {
		db = strings.IndexByte(Digits, b[0])
	}
	if db-da > 1 {
		return Digits[(da+db+1)/2 : (da+db+1)/2+1]
	}
	// Consecutive first digits.
	if len(b) > 1 {
		return b[:1]
	}
	return Digits[da:da+1] + midpoint(tail(a, 1), "")
}

func digitAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return '0'
}

func tail(s string, n int) string {
	if n >= len(s) {
		return ""
	}
	return s[n:]
}

// integerLength is the length of an integer part by its head: a–z are
// 2–27 characters (positive), Z–A 2–27 (negative).
func integerLength(head byte) (int, bool) {
	switch {
	case head >= 'a' && head <= 'z':
		return int(head-'a') + 2, true
	case head >= 'A' && head <= 'Z':
		return int('Z'-head) + 2, true
	}
	return 0, false
}

func mustLength(head byte) int {
	n, _ := integerLength(head) // callers checked Valid
	return n
}

func incrementInteger(x string) (string, bool) {
	head, digs := x[0], []byte(x[1:])
	carry := true
	for i := len(digs) - 1; carry && i >= 0; i-- {
		d := strings.IndexByte(Digits, digs[i]) + 1
		if d == len(Digits) {
			digs[i] = '0'
		} else {
			digs[i] = Digits[d]
			carry = false
		}
	}
	if !carry {
		return string(head) + string(digs), true
	}
	switch head {
	case 'Z':
		return "a0", true
	case 'z':
		return "", false
	}
	h := head + 1
	if h > 'a' {
		digs = append(digs, '0')
	} else {
		digs = digs[:len(digs)-1]
	}
	return string(h) + string(digs), true
}

func decrementInteger(x string) (string, error) {
	head, digs := x[0], []byte(x[1:])
	borrow := true
	for i := len(digs) - 1; borrow && i >= 0; i-- {
		d := strings.IndexByte(Digits, digs[i]) - 1
		if d == -1 {
			digs[i] = 'z'
		} else {
			digs[i] = Digits[d]
			borrow = false
		}
	}
	if !borrow {
		return string(head) + string(digs), nil
	}
	switch head {
	case 'a':
		return "Zz", nil
	case 'A':
		return "", ErrInvalid
	}
	h := head - 1
	if h < 'Z' {
		digs = append(digs, 'z')
	} else {
		digs = digs[:len(digs)-1]
	}
	return string(h) + string(digs), nil
}
