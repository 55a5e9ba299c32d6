package domxml

import (
	"encoding/xml"
	"slices"
	"strings"

	"quintupleo/virt"
)

// One namespace's element of <metadata>, read and written as libvirt 9.0's
// virDomainGetMetadata and virDomainSetMetadata do (checked against a real
// libvirtd): get returns the element of that namespace URI with the
// namespace taken off its elements (and its declaration removed), dumped
// by libxml2 with two-space indentation; set parses the given element,
// puts every element of it that has no namespace into the URI's namespace
// under prefix key (declared last on the element), and replaces the
// namespace's element at the end of <metadata>.

// MetadataElement is the element of namespace uri in the stored form of
// <metadata>, as virDomainGetMetadata returns it; ok is false when there is
// none.
func MetadataElement(stored, uri string) (string, bool) {
	md := parseStored(stored)
	if md == nil {
		return "", false
	}
	for _, c := range md.elems("") {
		if c.uri() == uri {
			return elementText(c, uri), true
		}
	}
	return "", false
}

// MetadataElements maps each namespace of the stored form of <metadata> to
// its element as virDomainGetMetadata returns it (the first one, as there).
func MetadataElements(stored string) map[string]string {
	out := map[string]string{}
	md := parseStored(stored)
	if md == nil {
		return out
	}
	for _, c := range md.elems("") {
		if _, seen := out[c.uri()]; !seen {
			out[c.uri()] = elementText(c, c.uri())
		}
	}
	return out
}

// elementText is e, of namespace uri, written without the namespace.
func elementText(e *xnode, uri string) string {
	cp := copyReconciled(e)
	stripNamespace(cp, uri)
	var b strings.Builder
	cp.dump(&b, 0, true, false)
	return b.String()
}

// stripNamespace takes namespace uri off e's subtree: its elements lose the
// prefix, and the declarations binding it go.
func stripNamespace(e *xnode, uri string) {
	if e.kind != xElem {
		return
	}
	if e.prefix != "" && e.uri() == uri {
		defer func(p string) { e.prefix = "" }(e.prefix)
	}
	for _, c := range e.children {
		stripNamespace(c, uri)
	}
	e.attrs = slices.DeleteFunc(e.attrs, func(a xml.Attr) bool { return a.Name.Space == "xmlns" && a.Value == uri })
}

// SetMetadataElement is stored with the element of namespace uri replaced
// by elem (XML text) under prefix key, or removed when elem is "". The
// result is again a stored form ("" when <metadata> ends up empty).
func SetMetadataElement(stored, elem, key, uri string) (string, error) {
	md := parseStored(stored)
	if md == nil {
		md = &xnode{kind: xElem, local: "metadata"}
	}
	md.children = slices.DeleteFunc(md.children, func(c *xnode) bool { return c.kind == xElem && c.uri() == uri })
	if elem != "" {
		if _, err := parseTree(elem); err != nil {
			return "", metadataXMLError(err)
		}
		if !validNCName(key) {
			return "", virt.Internal(virt.FromXML, "failed to validate prefix for a new XML namespace", nil)
		}
		e := parseRawTree(elem)
		injectNamespace(e, key)
		e.attrs = append(e.attrs, xml.Attr{Name: xml.Name{Space: "xmlns", Local: key}, Value: uri})
		e.parent = md
		md.children = append(md.children, e)
	}
	if len(md.elems("")) == 0 {
		return "", nil
	}
	var b strings.Builder
	md.dump(&b, 0, false, false)
	return b.String(), nil
}

// injectNamespace puts key on every element of e's subtree that is in no
// namespace (virXMLInjectNamespace).
func injectNamespace(e *xnode, key string) {
	if e.kind != xElem {
		return
	}
	if e.prefix == "" && e.uri() == "" {
		e.prefix = key
	}
	for _, c := range e.children {
		injectNamespace(c, key)
	}
}

// metadataXMLError words a parse error of virDomainSetMetadata's XML as
// libvirt does: the document is "(metadata_xml)", the error from
// VIR_FROM_DOMAIN.
func metadataXMLError(err error) error {
	ve, ok := virt.As(err)
	if !ok {
		return err
	}
	cp := *ve
	cp.Domain = virt.FromDomain
	cp.Detail = strings.Replace(cp.Detail, "(domain_definition)", "(metadata_xml)", 1)
	return &cp
}

// validNCName is xmlValidateNCName: a name without a colon.
func validNCName(s string) bool {
	if s == "" || strings.ContainsRune(s, ':') {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0xC0
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '-' && r != '.' && r != 0xB7 {
			return false
		}
	}
	return true
}
