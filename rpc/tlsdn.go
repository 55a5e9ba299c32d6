package rpc

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A client certificate's DN is written the way libvirtd writes it, since
// tls_allowed_dn_list patterns are written against that string: GnuTLS's
// gnutls_x509_crt_get_dn, "C=GB,O=Example,CN=client1". Unlike RFC 4514
// (and Go's pkix.Name.String) the RDNs are in the certificate's order, not
// reversed; attribute names are GnuTLS's; values are escaped as RFC 4514
// says; a value GnuTLS does not print as text is "#" and the hex of its DER.
// `virt-pki-query-dn cert.pem` prints the same string (the tests compare).

// atv is one AttributeTypeAndValue, its value kept as DER.
type atv struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET is one RelativeDistinguishedName (a SET OF; encoding/asn1 reads a
// slice type named ...SET as a SET).
type rdnSET []atv

// dnAttr is what GnuTLS knows of an attribute type: its name, and the one
// string type it prints for it (0: a DirectoryString, any of its choices).
type dnAttr struct {
	name string
	tag  int
}

// dnAttrs is GnuTLS's table of printable DN attributes (lib/x509/common.c).
var dnAttrs = map[string]dnAttr{
	"1.3.6.1.5.5.7.9.2":          {"placeOfBirth", 0},
	"1.3.6.1.5.5.7.9.3":          {"gender", asn1.TagPrintableString},
	"1.3.6.1.5.5.7.9.4":          {"countryOfCitizenship", asn1.TagPrintableString},
	"1.3.6.1.5.5.7.9.5":          {"countryOfResidence", asn1.TagPrintableString},
	"2.5.4.6":                    {"C", asn1.TagPrintableString},
	"2.5.4.9":                    {"street", 0},
	"2.5.4.12":                   {"title", 0},
	"2.5.4.10":                   {"O", 0},
	"2.5.4.11":                   {"OU", 0},
	"2.5.4.3":                    {"CN", 0},
	"2.5.4.7":                    {"L", 0},
	"2.5.4.8":                    {"ST", 0},
	"2.5.4.13":                   {"description", 0},
	"2.5.4.5":                    {"serialNumber", asn1.TagPrintableString},
	"2.5.4.20":                   {"telephoneNumber", asn1.TagPrintableString},
	"2.5.4.4":                    {"surName", 0},
	"2.5.4.43":                   {"initials", 0},
	"2.5.4.44":                   {"generationQualifier", 0},
	"2.5.4.42":                   {"givenName", 0},
	"2.5.4.65":                   {"pseudonym", 0},
	"2.5.4.46":                   {"dnQualifier", asn1.TagPrintableString},
	"2.5.4.17":                   {"postalCode", 0},
	"2.5.4.41":                   {"name", 0},
	"2.5.4.15":                   {"businessCategory", 0},
	"0.9.2342.19200300.100.1.25": {"DC", asn1.TagIA5String},
	"0.9.2342.19200300.100.1.1":  {"UID", 0},
	"1.2.840.113556.1.4.656":     {"userPrincipalName", 0},
	"1.3.6.1.4.1.311.60.2.1.1":   {"jurisdictionOfIncorporationLocalityName", 0},
	"1.3.6.1.4.1.311.60.2.1.2":   {"jurisdictionOfIncorporationStateOrProvinceName", 0},
	"1.3.6.1.4.1.311.60.2.1.3":   {"jurisdictionOfIncorporationCountryName", asn1.TagPrintableString},
	"1.2.840.113549.1.9.1":       {"EMAIL", asn1.TagIA5String},
	"1.3.6.1.5.5.7.8.5":          {"XmppAddr", asn1.TagUTF8String},
}

// DER string tags a DirectoryString may hold beyond those encoding/asn1 names.
const (
	tagTeletex   = 20
	tagUniversal = 28
	tagBMP       = 30
)

// CertDN returns the subject DN of cert as libvirtd sees it.
func CertDN(cert *x509.Certificate) (string, error) {
	var rdns []rdnSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) != 0 {
		return "", fmt.Errorf("subject DN: malformed (%v)", err)
	}
	if len(rdns) == 0 {
		return "", errors.New("subject DN: empty")
	}
	var b strings.Builder
	for i, rdn := range rdns {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range rdn {
			if j > 0 {
				b.WriteByte('+')
			}
			v, err := dnValue(a)
			if err != nil {
				return "", fmt.Errorf("subject DN: %s: %w", a.Type, err)
			}
			attr, known := dnAttrs[a.Type.String()]
			if !known {
				attr.name = a.Type.String()
			}
			b.WriteString(attr.name + "=" + v)
		}
	}
	return b.String(), nil
}

// dnValue is one attribute's value as GnuTLS prints it.
func dnValue(a atv) (string, error) {
	attr, known := dnAttrs[a.Type.String()]
	switch {
	case !known, a.Value.Class != asn1.ClassUniversal:
		return hexValue(a.Value.FullBytes), nil
	case attr.tag != 0:
		if a.Value.Tag != attr.tag {
			return hexValue(a.Value.FullBytes), nil
		}
		return escapeDNValue(a.Value.Bytes)
	}
	switch a.Value.Tag { // a DirectoryString
	case asn1.TagPrintableString, asn1.TagUTF8String:
		return escapeDNValue(a.Value.Bytes)
	case tagTeletex:
		for _, c := range a.Value.Bytes {
			if c >= utf8.RuneSelf {
				return hexValue(a.Value.Bytes), nil
			}
		}
		return escapeDNValue(a.Value.Bytes)
	case tagBMP:
		if len(a.Value.Bytes)%2 != 0 {
			return hexValue(a.Value.Bytes), nil
		}
		u := make([]uint16, len(a.Value.Bytes)/2)
		for i := range u {
			u[i] = uint16(a.Value.Bytes[2*i])<<8 | uint16(a.Value.Bytes[2*i+1])
		}
		return escapeDNValue([]byte(string(utf16.Decode(u))))
	case tagUniversal:
		return hexValue(a.Value.Bytes), nil
	}
	return "", fmt.Errorf("not a DirectoryString (tag %d)", a.Value.Tag)
}

func hexValue(b []byte) string { return "#" + hex.EncodeToString(b) }

// escapeDNValue escapes as RFC 4514 (and GnuTLS) do: the special
// characters anywhere, '#' and ' ' first, ' ' last. A NUL is refused.
func escapeDNValue(v []byte) (string, error) {
	var b strings.Builder
	for i, c := range v {
		switch {
		case c == 0:
			return "", errors.New("NUL in a string value")
		case strings.IndexByte(`,+"\<>;`, c) >= 0,
			i == 0 && (c == '#' || c == ' '),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// MatchDN reports whether dn matches pattern as libvirtd's
// tls_allowed_dn_list does (GLib's g_pattern_match_simple): '*' matches any
// run of characters, none included; '?' exactly one character; everything
// else, '\' and '[' included, only itself.
func MatchDN(pattern, dn string) bool {
	p, s := []rune(pattern), []rune(dn)
	// Greedy matching with backtracking to the last '*', linear in practice.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
