package domxml

import (
	"encoding/xml"
	"io"
	"slices"
	"strings"
)

// A namespace-aware tree of the whole document, read after parseTree has
// accepted it as well-formed. parseTree's tree (encoding/xml's Token) loses
// the prefixes, which libvirt keeps in <metadata>, and drops comments; this
// one (RawToken) keeps both, and resolves prefixes itself.

type xkind int

const (
	xElem xkind = iota
	xText
	xComment
	xProcInst
)

// xnode is an element, text, comment or processing instruction.
type xnode struct {
	kind          xkind
	prefix, local string     // element name as written
	attrs         []xml.Attr // as written: Name.Space is the prefix ("xmlns" for declarations)
	text          string     // text, comment body, processing instruction data
	target        string     // processing instruction target
	parent        *xnode
	children      []*xnode
}

const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

// parseRawTree reads s (already known to be well-formed) into an xnode tree
// and removes blank text the way libxml2 does when libvirt parses with
// xmlKeepBlanksDefault(0).
func parseRawTree(s string) *xnode {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	doc := &xnode{kind: xElem}
	cur := doc
	for {
		tok, err := d.RawToken()
		if err == io.EOF || err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &xnode{kind: xElem, prefix: t.Name.Space, local: t.Name.Local, attrs: slices.Clone(t.Attr), parent: cur}
			cur.children = append(cur.children, e)
			cur = e
		case xml.EndElement:
			if cur.parent != nil {
				cur = cur.parent
			}
		case xml.CharData:
			if n := len(cur.children); n > 0 && cur.children[n-1].kind == xText {
				cur.children[n-1].text += string(t) // CDATA next to text: one text node
				continue
			}
			cur.children = append(cur.children, &xnode{kind: xText, text: string(t), parent: cur})
		case xml.Comment:
			cur.children = append(cur.children, &xnode{kind: xComment, text: string(t), parent: cur})
		case xml.ProcInst:
			if t.Target != "xml" {
				cur.children = append(cur.children, &xnode{kind: xProcInst, target: t.Target, text: string(t.Inst), parent: cur})
			}
		}
	}
	var root *xnode
	for _, c := range doc.children {
		if c.kind == xElem {
			root = c
		}
	}
	if root != nil {
		root.parent = nil
		root.dropBlanks(false)
	}
	return root
}

func isBlank(s string) bool { return strings.Trim(s, " \t\r\n") == "" }

// dropBlanks removes ignorable whitespace with libxml2's heuristic
// (areBlanks in parser.c): blank text is kept when it is an element's only
// content, when it follows text, when the element's first child is text,
// or under xml:space='preserve' (inherited, as libxml2's space stack is).
func (e *xnode) dropBlanks(preserve bool) {
	if v, ok := e.attrValue("xml", "space"); ok {
		preserve = v == "preserve"
	}
	var kept []*xnode
	for i, c := range e.children {
		if c.kind == xElem {
			c.dropBlanks(preserve)
		}
		if c.kind == xText && isBlank(c.text) && !preserve {
			onlyContent := len(kept) == 0 && i == len(e.children)-1
			afterText := len(kept) > 0 && kept[len(kept)-1].kind == xText
			firstIsText := len(kept) > 0 && kept[0].kind == xText
			if !onlyContent && !afterText && !firstIsText {
				continue
			}
		}
		kept = append(kept, c)
	}
	e.children = kept
}

func (e *xnode) attrValue(space, local string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// isNSDecl reports whether a is xmlns or xmlns:p.
func isNSDecl(a xml.Attr) bool {
	return (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == "xmlns"
}

// declares returns the URI e itself binds prefix to ("" = default namespace).
func (e *xnode) declares(prefix string) (string, bool) {
	if prefix == "" {
		return e.attrValue("", "xmlns")
	}
	return e.attrValue("xmlns", prefix)
}

// lookup resolves prefix in e's scope; "" with ok=false when unbound.
func (e *xnode) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNamespace, true
	}
	for n := e; n != nil; n = n.parent {
		if uri, ok := n.declares(prefix); ok {
			return uri, true
		}
	}
	return "", prefix == ""
}

// uri is the namespace of e's own name ("" for none or an unbound prefix).
func (e *xnode) uri() string {
	u, _ := e.lookup(e.prefix)
	return u
}

func (e *xnode) qname() string {
	if e.prefix == "" {
		return e.local
	}
	return e.prefix + ":" + e.local
}

func attrQName(a xml.Attr) string {
	if a.Name.Space == "" {
		return a.Name.Local
	}
	return a.Name.Space + ":" + a.Name.Local
}

// elems are e's element children named local (in no namespace), or all
// element children if local is "".
func (e *xnode) elems(local string) []*xnode {
	var out []*xnode
	for _, c := range e.children {
		if c.kind == xElem && (local == "" || (c.local == local && c.prefix == "")) {
			out = append(out, c)
		}
	}
	return out
}

// canon writes e in a form that equals another element's exactly when
// libvirt would read the two as the same: names by namespace URI (not
// prefix), attributes sorted, namespace declarations ignored. With
// keepText, text is compared as given (blank text already dropped as libxml2
// drops it) and comments and processing instructions count, as <metadata>
// keeps them; otherwise text is trimmed, they are ignored, and children are
// sorted, as libvirt's domain parser reads them by name.
func (e *xnode) canon(b *strings.Builder, keepText bool) {
	b.WriteString("<{")
	b.WriteString(e.uri())
	b.WriteByte('}')
	b.WriteString(e.local)
	var attrs []string
	for _, a := range e.attrs {
		if isNSDecl(a) {
			continue
		}
		u := ""
		if a.Name.Space != "" {
			u, _ = e.lookup(a.Name.Space)
		}
		attrs = append(attrs, " {"+u+"}"+a.Name.Local+"="+escapeAttr(a.Value))
	}
	slices.Sort(attrs)
	b.WriteString(strings.Join(attrs, ""))
	b.WriteByte('>')
	var kids []string
	for _, c := range e.children {
		var cb strings.Builder
		switch {
		case c.kind == xElem:
			c.canon(&cb, keepText)
		case c.kind == xText && keepText:
			cb.WriteString(escapeText(c.text))
		case c.kind == xText && strings.TrimSpace(c.text) != "":
			cb.WriteString(escapeText(strings.TrimSpace(c.text)))
		case c.kind == xComment && keepText:
			cb.WriteString("<!--" + c.text + "-->")
		case c.kind == xProcInst && keepText:
			cb.WriteString("<?" + c.target + " " + c.text + "?>")
		}
		if cb.Len() > 0 {
			kids = append(kids, cb.String())
		}
	}
	if !keepText {
		slices.Sort(kids)
	}
	b.WriteString(strings.Join(kids, ""))
	b.WriteString("</>")
}

func canonOf(e *xnode, keepText bool) string {
	var b strings.Builder
	e.canon(&b, keepText)
	return b.String()
}

// dump writes e as libxml2's xmlNodeDump does, which libvirt uses for
// <metadata>: double-quoted attributes, namespace declarations first, empty
// elements as <x/>; with format, children on their own lines indented two
// spaces per level, except inside an element that has text (mixed content
// is written as given). With defuse, the phrases line-based clients grep
// dumpxml for (clientPatterns) cannot appear: in text and values their space
// is a character reference, between a name and an attribute a tab.
func (e *xnode) dump(b *strings.Builder, level int, format, defuse bool) {
	esc := func(s string) string { return s }
	if defuse {
		esc = defusePatterns
	}
	switch e.kind {
	case xText:
		b.WriteString(esc(escapeText(e.text)))
		return
	case xComment:
		b.WriteString("<!--" + e.text + "-->")
		return
	case xProcInst:
		b.WriteString("<?" + e.target)
		if e.text != "" {
			b.WriteString(" " + e.text)
		}
		b.WriteString("?>")
		return
	}
	b.WriteString("<" + e.qname())
	last := e.qname()
	for _, decl := range []bool{true, false} {
		for _, a := range e.attrs {
			if isNSDecl(a) != decl {
				continue
			}
			sep := " "
			if defuse && slices.Contains(clientPatterns, last+" "+attrQName(a)) {
				sep = "\t"
			}
			b.WriteString(sep + attrQName(a) + `="` + esc(escapeAttr(a.Value)) + `"`)
			last = ""
		}
	}
	if len(e.children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	format = format && !slices.ContainsFunc(e.children, func(c *xnode) bool { return c.kind == xText })
	for _, c := range e.children {
		if format {
			b.WriteString("\n" + strings.Repeat("  ", level+1))
		}
		c.dump(b, level+1, format, defuse)
	}
	if format {
		b.WriteString("\n" + strings.Repeat("  ", level))
	}
	b.WriteString("</" + e.qname() + ">")
}

// escapeText escapes text content as libxml2 writes it.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}

// escapeAttr escapes a double-quoted attribute value as libxml2 writes it.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace(s)
}
