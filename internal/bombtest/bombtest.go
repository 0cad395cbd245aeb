// Package bombtest makes compressed request bodies that inflate far past
// the API's 64 KiB body limit ("decompression bombs"), for the attack suite
// and the tests that watch the built binary's memory.
package bombtest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Inflated is the size of every bomb once decoded: a thousand times the
// API's body limit.
const Inflated = 64 << 20

// Encodings are the Content-Encoding values Make knows: every coding that
// Fiber inflates (gzip, deflate, br) and zstd, which later fasthttp
// versions inflate as well.
func Encodings() []string { return []string{"gzip", "deflate", "br", "zstd"} }

// Make returns a body in the Content-Encoding enc that decodes to a JSON
// task of Inflated bytes ({"title":"aaaa…"}), so that a server which
// inflated it would go on to decode all of it. Every body is under 64 KiB.
func Make(enc string) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch enc {
	case "gzip":
		w, err = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	case "deflate": // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2)
		w, err = zlib.NewWriterLevel(&buf, zlib.BestCompression)
	case "br":
		w = brotli.NewWriterLevel(&buf, brotli.BestSpeed)
	case "zstd":
		w, err = zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	default:
		return nil, fmt.Errorf("bombtest: unknown encoding %q", enc)
	}
	if err != nil {
		return nil, err
	}
	const head, tail = `{"title":"`, `"}`
	filler := strings.Repeat("a", 64<<10)
	if _, err := io.WriteString(w, head); err != nil {
		return nil, err
	}
	for left := Inflated - len(head) - len(tail); left > 0; left -= len(filler) {
		if _, err := io.WriteString(w, filler[:min(left, len(filler))]); err != nil {
			return nil, err
		}
	}
	if _, err := io.WriteString(w, tail); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > 64<<10 {
		return nil, fmt.Errorf("bombtest: the %s bomb is %d bytes, over 64 KiB", enc, buf.Len())
	}
	return buf.Bytes(), nil
}
