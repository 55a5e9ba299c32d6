package domxml

import (
	"encoding/xml"
	"slices"
	"strings"
)

// <metadata>, kept the way libvirt 9.0 keeps it (virDomainDefParseXML, then
// the formatter's xmlNodeDump), as recorded from a real libvirtd
// (testdata/README):
//   - the element is copied out of the document; a namespace its subtree uses
//     but an ancestor declares (ElementTree puts every declaration on
//     <domain>) is declared on <metadata> itself, in order of first use;
//   - children without a namespace, and every child after the first of its
//     namespace, are dropped (virXMLNodeSanitizeNamespaces), as is text
//     directly inside <metadata>;
//   - blank text is dropped as libxml2 does with keepBlanks off, and the rest
//     is written back by libxml2: prefixes and comments kept, double quotes,
//     re-indented except where an element has text.
//
// The stored form (DomainSpec.Metadata) is that copy written without
// indentation; RenderXML indents it. CDATA sections come back as escaped
// text, which every XML reader reads the same.

// metadataOf is the stored form of root's first <metadata>, "" if none.
func metadataOf(root *xnode) string {
	var md *xnode
	for _, c := range root.elems("metadata") {
		md = c
		break
	}
	if md == nil {
		return ""
	}
	cp := copyReconciled(md)
	seen := map[string]bool{}
	cp.children = slices.DeleteFunc(cp.children, func(c *xnode) bool {
		if c.kind != xElem {
			return true
		}
		u := c.uri()
		if u == "" || seen[u] {
			return true
		}
		seen[u] = true
		return false
	})
	var b strings.Builder
	cp.dump(&b, 0, false, false)
	return b.String()
}

// copyReconciled deep-copies e out of its document, as libxml2's
// xmlCopyNode does: a prefix the copy uses but does not declare is declared
// on the copy's root with the URI it has in the original.
func copyReconciled(e *xnode) *xnode {
	root := &xnode{}
	var cp func(orig, parent *xnode) *xnode
	cp = func(orig, parent *xnode) *xnode {
		n := &xnode{kind: orig.kind, prefix: orig.prefix, local: orig.local, text: orig.text, target: orig.target, parent: parent}
		if parent == nil {
			n = root
			*n = xnode{kind: orig.kind, prefix: orig.prefix, local: orig.local}
		}
		if orig.kind != xElem {
			return n
		}
		for _, a := range orig.attrs {
			if isNSDecl(a) {
				n.attrs = append(n.attrs, a)
			}
		}
		reconcile(root, n, orig, orig.prefix, orig.prefix != "" || orig.uri() != "")
		for _, a := range orig.attrs {
			if !isNSDecl(a) {
				n.attrs = append(n.attrs, a)
				reconcile(root, n, orig, a.Name.Space, a.Name.Space != "")
			}
		}
		for _, c := range orig.children {
			n.children = append(n.children, cp(c, n))
		}
		return n
	}
	return cp(e, nil)
}

// reconcile declares prefix on root when n (the copy of orig) uses it, it is
// bound in the original and not yet in the copy.
func reconcile(root, n, orig *xnode, prefix string, used bool) {
	if !used || prefix == "xml" {
		return
	}
	if _, ok := n.lookup(prefix); ok && (prefix != "" || hasDecl(n, "")) {
		return
	}
	uri, ok := orig.lookup(prefix)
	if !ok || (prefix == "" && uri == "") {
		return
	}
	name := xml.Name{Space: "xmlns", Local: prefix}
	if prefix == "" {
		name = xml.Name{Local: "xmlns"}
	}
	root.attrs = append(root.attrs, xml.Attr{Name: name, Value: uri})
}

// hasDecl reports whether prefix is declared on n or an ancestor.
func hasDecl(n *xnode, prefix string) bool {
	for ; n != nil; n = n.parent {
		if _, ok := n.declares(prefix); ok {
			return true
		}
	}
	return false
}

// parseStored reads a stored form back; nil for "" (ours, so well-formed).
func parseStored(stored string) *xnode {
	if stored == "" {
		return nil
	}
	return parseRawTree(stored)
}

// metadataKey is what two stored forms must share to be the same metadata
// to libvirt: prefixes, attribute order and namespace declarations aside.
func metadataKey(stored string) string {
	md := parseStored(stored)
	if md == nil {
		return ""
	}
	return canonOf(md, true)
}

// formatMetadata writes a stored form as dumpxml shows it, at depth (in
// two-space steps) of the <metadata> line, without that line's indent.
func formatMetadata(stored string, depth int) string {
	md := parseStored(stored)
	if md == nil {
		return ""
	}
	var b strings.Builder
	md.dump(&b, depth, true, true)
	return b.String()
}

// ValidStoredMetadata reports whether stored is a well-formed <metadata>
// element, as the stored form read back from the cloud must be.
func ValidStoredMetadata(stored string) bool {
	root, err := parseTree(stored)
	return err == nil && root.name == "metadata"
}
