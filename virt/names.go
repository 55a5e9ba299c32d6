package virt

import "strings"

// Object names must be unique per family (libvirt looks domains and
// networks up by name) and shell-safe (clients paste them unquoted into
// command lines). One rule for every family, deterministic and the same on
// every replica, so that a domain's <source network='…'/> and the network
// list agree:
//
//   - a cloud name made only of [A-Za-z0-9_.+-] that does not start with
//     '-' or '.' and no other object of the family shares is used as it is;
//   - otherwise every other character becomes '_' (an empty result becomes
//     the family's fallback, e.g. "server"), and when two or more objects
//     would then share a name, each of them gets "-" and the first 8 hex
//     digits of its cloud ID appended — all of them, so the result does not
//     depend on listing order.

func shellSafeRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '.' || r == '+' || r == '-'
}

// SanitizeName is name with every character outside the shell-safe set
// replaced by '_' and a leading '-' or '.' made '_'; fallback when empty.
func SanitizeName(name, fallback string) string {
	var b strings.Builder
	for _, r := range name {
		if shellSafeRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	for len(s) > 0 && (s[0] == '-' || s[0] == '.') {
		s = "_" + s[1:]
	}
	if s == "" {
		return fallback
	}
	return s
}

// UniqueNames is the libvirt name of each object, index for index, given
// the cloud names and cloud IDs of all objects of one family.
func UniqueNames(names, ids []string, fallback string) []string {
	out := make([]string, len(names))
	count := make(map[string]int, len(names))
	for i, n := range names {
		out[i] = SanitizeName(n, fallback)
		count[out[i]]++
	}
	for i := range out {
		if count[out[i]] > 1 {
			suffix := strings.ReplaceAll(ids[i], "-", "")
			out[i] += "-" + suffix[:min(8, len(suffix))]
		}
	}
	return out
}
