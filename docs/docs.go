// Package docs holds the OpenAPI document — the one description of the HTTP
// API — and the interactive page that renders it. Both are embedded in the
// binary, so GET /openapi.json and GET /docs work on a network without
// internet access: the page loads nothing from any other origin.
package docs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed openapi.yaml
var openapiYAML []byte

// The page, its start-up script and the vendored Swagger UI (see
// swagger-ui/update.sh), which is stored gzip-compressed.
//
//go:embed page/index.html page/docs.js swagger-ui/swagger-ui-bundle.js.gz swagger-ui/swagger-ui.css.gz
var files embed.FS

// ContentSecurityPolicy is sent with the docs page. It lets the page load
// scripts, styles and data from this origin only, so that the page provably
// works offline; 'unsafe-inline' styles and data: images are what Swagger
// UI's React components use.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// OpenAPIYAML returns the OpenAPI document as written, for the tests that
// validate the API against it.
func OpenAPIYAML() []byte { return bytes.Clone(openapiYAML) }

// OpenAPIJSON returns the OpenAPI document as served: converted to JSON, with
// the order of its keys kept and the CORS lists filled in from CORS().
func OpenAPIJSON() ([]byte, error) {
	doc, err := withCORS(openapiYAML, CORS())
	if err != nil {
		return nil, err
	}
	return yamlToJSON(doc)
}

// file is one response body the docs routes serve.
type file struct {
	contentType string
	body        []byte // as sent when the client accepts gzip (see gzipped)
	gzipped     bool
	etag        string
}

// Mount adds GET /openapi.json, GET /docs and GET /docs/{asset} to r. The
// document is converted to JSON here, once; an embedded document that does
// not convert is a broken build (docs_test.go catches it), so Mount panics
// rather than serve a service without its description.
func Mount(r fiber.Router) {
	spec, err := OpenAPIJSON()
	if err != nil {
		panic(fmt.Sprintf("docs: docs/openapi.yaml does not convert to JSON: %v", err))
	}
	openapi := newFile("application/json", spec, false)
	page := newFile("text/html; charset=utf-8", mustRead("page/index.html"), false)
	assets := map[string]file{
		"docs.js":              newFile("text/javascript; charset=utf-8", mustRead("page/docs.js"), false),
		"swagger-ui-bundle.js": newFile("text/javascript; charset=utf-8", mustRead("swagger-ui/swagger-ui-bundle.js.gz"), true),
		"swagger-ui.css":       newFile("text/css; charset=utf-8", mustRead("swagger-ui/swagger-ui.css.gz"), true),
	}

	r.Get("/openapi.json", func(c *fiber.Ctx) error { return send(c, openapi) })
	r.Get("/docs", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", ContentSecurityPolicy)
		c.Set("Referrer-Policy", "no-referrer")
		return send(c, page)
	})
	r.Get("/docs/:asset", func(c *fiber.Ctx) error {
		f, ok := assets[c.Params("asset")]
		if !ok {
			return fiber.ErrNotFound
		}
		return send(c, f)
	})
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("docs: embedded %s: %v", name, err))
	}
	return b
}

func newFile(contentType string, body []byte, gzipped bool) file {
	sum := sha256.Sum256(body)
	return file{contentType: contentType, body: body, gzipped: gzipped, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// send answers with f, or 304 when the client already has it. A gzipped
// file goes out as is to clients that accept gzip (every browser) and is
// decompressed for the others.
func send(c *fiber.Ctx, f file) error {
	c.Set(fiber.HeaderETag, f.etag)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if f.gzipped {
		c.Vary(fiber.HeaderAcceptEncoding)
	}
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), f.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	if !f.gzipped {
		return c.Send(f.body)
	}
	if acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(f.body))
	if err != nil {
		return err
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	return c.Send(plain)
}

// etagMatches applies If-None-Match (RFC 9110 §13.1.2: weak comparison).
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3): gzip, x-gzip or *
// with a non-zero weight.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q=0"), ".0") == "" {
			continue // q=0, q=0.0, q=0.000: "not acceptable"
		}
		return true
	}
	return false
}
