package ratelimit

import "net/netip"

// AddressKey is the key of a client address: an IPv4 address as it is, an
// IPv6 address by its /64. One subscriber is usually given a whole /64 (a
// home line, a cloud machine), so counting its 2^64 addresses apart would
// hand it as many buckets and connection caps. An IPv4 address written as
// IPv6 (::ffff:192.0.2.1) is the IPv4 address.
func AddressKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() || !a.IsValid() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
