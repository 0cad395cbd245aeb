package bombtest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// TestMake checks that each bomb is what its name says: under 64 KiB on the
// wire, Inflated bytes of one JSON object once decoded.
func TestMake(t *testing.T) {
	for _, enc := range Encodings() {
		t.Run(enc, func(t *testing.T) {
			b, err := Make(enc)
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader
			switch enc {
			case "gzip":
				r, err = gzip.NewReader(bytes.NewReader(b))
			case "deflate":
				r, err = zlib.NewReader(bytes.NewReader(b))
			case "br":
				r = brotli.NewReader(bytes.NewReader(b))
			case "zstd":
				var d *zstd.Decoder
				d, err = zstd.NewReader(bytes.NewReader(b))
				r = d
			}
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 10)
			if _, err := io.ReadFull(r, head); err != nil || string(head) != `{"title":"` {
				t.Fatalf("starts %q (%v)", head, err)
			}
			n, err := io.Copy(io.Discard, r)
			if err != nil || n+10 != Inflated || len(b) > 64<<10 {
				t.Errorf("%d bytes decode to %d (%v), want %d", len(b), n+10, err, Inflated)
			}
		})
	}
	if _, err := Make("compress"); err == nil {
		t.Error("an unknown encoding made a bomb")
	}
}
