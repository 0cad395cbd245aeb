package agents

import (
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// MetadataPath is where the RFC 9728 protected resource metadata is served;
// an MCP client that meets a 401 finds it through the resource_metadata
// parameter of WWW-Authenticate and learns there where to get a token.
const MetadataPath = "/.well-known/oauth-protected-resource"

// Path is the MCP endpoint's path.
const Path = "/mcp"

// ResourceMetadata is the RFC 9728 document of the MCP endpoint at base
// (scheme and host, no trailing slash). authServer, the Better Auth URL,
// is the authorization server when set; without it tokens come from
// elsewhere (`todo-api token`, a shared secret) and none is named.
func ResourceMetadata(base, authServer string) oauthex.ProtectedResourceMetadata {
	m := oauthex.ProtectedResourceMetadata{
		Resource:               base + Path,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "todo-api",
		ResourceDocumentation:  base + "/docs",
	}
	if authServer != "" {
		m.AuthorizationServers = []string{authServer}
	}
	return m
}

// Challenge is the WWW-Authenticate value of a 401 from the MCP endpoint
// at base: the RFC 6750 challenge with RFC 9728's resource_metadata. A
// request that sent a token that was refused also gets
// error="invalid_token"; one that sent none gets no error code (RFC 6750
// section 3.1).
func Challenge(base string, tokenSent bool) string {
	c := fmt.Sprintf(`Bearer resource_metadata=%q`, base+MetadataPath)
	if tokenSent {
		c += `, error="invalid_token"`
	}
	return c
}
