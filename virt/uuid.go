package virt

import "strings"

// UUID is a libvirt UUID in its 16 raw bytes (VIR_UUID_BUFLEN), as on the
// wire. A Nova server ID is a domain's UUID.
type UUID [16]byte

// ParseUUID accepts what libvirt's virUUIDParse does: 32 hex digits, with
// dashes (or spaces) between byte pairs, surrounding space ignored. The
// canonical 8-4-4-4-12 form Nova uses is one such.
func ParseUUID(s string) (UUID, bool) {
	var u UUID
	s = strings.TrimSpace(s)
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == '-' || c == ' ' {
			i++
			continue
		}
		if n >= len(u) || i+1 >= len(s) {
			return UUID{}, false
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return UUID{}, false
		}
		u[n] = hi<<4 | lo
		n++
		i += 2
	}
	return u, n == len(u)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String renders u the canonical way libvirt's virUUIDFormat does
// (8-4-4-4-12, lower case).
func (u UUID) String() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(b[:])
}
