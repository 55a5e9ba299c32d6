package domain

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode/utf8"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// What `virsh define` may change besides the boot device — <title>,
// <description> and <metadata> — is kept in the server's Nova metadata, so
// every replica renders it: each value in chunks of at most chunkBytes under
// "libvirt:title.0", "libvirt:title.1", … (likewise libvirt:description.N
// and libvirt:metadata.N, <metadata> in domxml's stored form). Nova limits a
// metadata value to 255 characters; cutting at 255 bytes on a UTF-8
// boundary stays within that on every cloud. Together they may take at most
// maxKeptItems items, about 16 KiB, leaving most of Nova's default quota of
// 128 items to the operator's own keys. Nova keeps no description of its
// own before microversion 2.19, and one PUT of the whole metadata set
// changes all three at once.
const (
	keyTitle       = "libvirt:title"
	keyDescription = "libvirt:description"
	keyMetadata    = "libvirt:metadata"
	chunkBytes     = 255
	maxKeptItems   = 64
)

// kept is what define keeps for a domain.
type kept struct {
	Title, Description, Metadata string
}

// keptFields pairs each kept value with its key.
func (k *kept) fields() []struct {
	key string
	val *string
} {
	return []struct {
		key string
		val *string
	}{{keyTitle, &k.Title}, {keyDescription, &k.Description}, {keyMetadata, &k.Metadata}}
}

// keptOf reads the kept values out of a server's metadata. A stored
// <metadata> that is not what domxml stores (edited in the cloud by hand)
// is left out rather than rendered as broken XML; ok is then false.
func keptOf(md map[string]string) (k kept, ok bool) {
	for _, f := range k.fields() {
		var b strings.Builder
		for i := 0; ; i++ {
			v, has := md[f.key+"."+strconv.Itoa(i)]
			if !has {
				break
			}
			b.WriteString(v)
		}
		*f.val = b.String()
	}
	if k.Metadata != "" && !domxml.ValidStoredMetadata(k.Metadata) {
		k.Metadata = ""
		return k, false
	}
	return k, true
}

// items are k's metadata items.
func (k kept) items() map[string]string {
	out := map[string]string{}
	for _, f := range k.fields() {
		for i, c := range chunks(*f.val, chunkBytes) {
			out[f.key+"."+strconv.Itoa(i)] = c
		}
	}
	return out
}

// isKeptKey reports whether key is one of the kept values' chunks.
func isKeptKey(key string) bool {
	for _, base := range []string{keyTitle, keyDescription, keyMetadata} {
		if n, ok := strings.CutPrefix(key, base+"."); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return true
			}
		}
	}
	return false
}

// chunks cuts s into pieces of at most n bytes, on rune boundaries.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end--
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// checkedItems are k's metadata items for domain name, refused past
// maxKeptItems.
func (k kept) checkedItems(name string) (map[string]string, error) {
	items := k.items()
	if len(items) > maxKeptItems {
		return nil, virt.ConfigUnsupported(from, fmt.Sprintf("<title>, <description> and <metadata> of domain '%s' take %d cloud metadata items; the cloud keeps at most %d (%d bytes)",
			name, len(items), maxKeptItems, maxKeptItems*chunkBytes))
	}
	return items, nil
}

// keep writes k as the node's kept values in one metadata replacement,
// leaving every other key (boot device, autostart, the operator's) as
// Nova has it. Past maxKeptItems nothing is written.
func (h *Driver) keep(ctx context.Context, n nodes.Node, name string, k kept) error {
	items, err := k.checkedItems(name)
	if err != nil {
		return err
	}
	_, err = h.act.EditMetadata(ctx, n.ID, func(md map[string]string) map[string]string {
		maps.DeleteFunc(md, func(key, _ string) bool { return isKeptKey(key) })
		maps.Copy(md, items)
		return md
	})
	return FromNodes(err)
}
