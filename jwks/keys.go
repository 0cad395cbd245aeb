package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
)

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3 asks for
// 2048 bits; Better Auth generates 2048).
const minRSABits = 2048

// fits reports whether key, by its own type, may verify a signature made
// with alg. The JWK's "alg" is optional (older Better Auth versions leave it
// out) and the token's header is chosen by whoever made the token, so the
// key type decides: Ed25519 for EdDSA, the matching curve for ES*, RSA of a
// sane size for RS* and PS*. Nothing fits an HMAC algorithm, so a public key
// can never be used as an HMAC secret (key confusion).
func fits(alg string, key any) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA" && len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return k.N.BitLen() >= minRSABits
		}
	}
	return false
}
