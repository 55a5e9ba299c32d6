package domxml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"quintupleo/virt"
)

// libxml2's side of parsing: encoding/xml's tokenizer builds the element
// tree, and its syntax errors are worded the way libxml2 words them, as
// libvirt prints them (VIR_ERR_XML_DETAIL).

// xmlDetail is VIR_ERR_XML_DETAIL: libxml2's complaint about XML that is not
// well-formed, printed by libvirt as "(domain_definition):LINE: MESSAGE"
// followed by the offending line and a caret under the position.
func xmlDetail(src string, offset int, msg string, cause error) *virt.Error {
	return virt.XMLDetailAt(virt.FromDom, "(domain_definition)", src, offset, msg, cause)
}

// parseTree reads s into an element tree, rejecting what libxml2 rejects
// with libxml2's wording for the common cases.
func parseTree(s string) (*element, error) {
	if err := virt.CheckXML(s, "(domain_definition)", virt.FromDom); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	var stack []openElement
	var root *element
	closed := false
	for {
		before := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			switch {
			case s == "":
				return nil, xmlDetail(s, 0, "Document is empty", nil)
			case root == nil:
				return nil, xmlDetail(s, len(s), "Start tag expected, '<' not found", nil)
			case !closed:
				top := stack[len(stack)-1]
				return nil, xmlDetail(s, len(s), fmt.Sprintf("Premature end of data in tag %s line %d", top.e.name, top.line), nil)
			}
			return root, nil
		}
		if err != nil {
			return nil, syntaxError(s, d, err, stack, closed)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if closed {
				return nil, xmlDetail(s, before, "Extra content at the end of the document", nil)
			}
			line, _ := d.InputPos()
			e := &element{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1].e
				parent.children = append(parent.children, e)
			} else {
				root = e
			}
			stack = append(stack, openElement{e, line})
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				closed = true
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].e.text.Write(t)
				continue
			}
			if trimmed := strings.TrimLeft(string(t), " \t\r\n"); trimmed != "" {
				off := before + len(t) - len(trimmed)
				if closed {
					return nil, xmlDetail(s, off, "Extra content at the end of the document", nil)
				}
				return nil, xmlDetail(s, off, "Start tag expected, '<' not found", nil)
			}
		}
	}
}

// openElement is an element whose end tag parseTree has not seen yet.
type openElement struct {
	e    *element
	line int
}

// syntaxError words encoding/xml's syntax errors the way libxml2 does where
// the two agree on the cause; otherwise it keeps Go's text.
func syntaxError(s string, d *xml.Decoder, err error, stack []openElement, closed bool) *virt.Error {
	off := int(d.InputOffset())
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		return xmlDetail(s, off, err.Error(), err)
	}
	msg := se.Msg
	switch {
	case msg == "unexpected EOF" && len(stack) > 0:
		top := stack[len(stack)-1]
		return xmlDetail(s, len(s), fmt.Sprintf("Premature end of data in tag %s line %d", top.e.name, top.line), err)
	case strings.HasPrefix(msg, "element <") && strings.Contains(msg, "> closed by </"):
		// "element <os> closed by </domain>"
		var opened, closedBy string
		rest := strings.TrimPrefix(msg, "element <")
		opened, rest, _ = strings.Cut(rest, "> closed by </")
		closedBy = strings.TrimSuffix(rest, ">")
		line := openLine(s, opened, off)
		return xmlDetail(s, off, fmt.Sprintf("Opening and ending tag mismatch: %s line %d and %s", opened, line, closedBy), err)
	case strings.HasPrefix(msg, "unexpected end element") && closed:
		return xmlDetail(s, strings.LastIndex(s[:off], "</"), "Extra content at the end of the document", err)
	case strings.Contains(msg, "unquoted or missing attribute value"):
		return xmlDetail(s, off-1, `AttValue: " or ' expected`, err)
	}
	return xmlDetail(s, off, msg, err)
}

// openLine finds the line of the last <name start tag before off.
func openLine(s, name string, off int) int {
	i := strings.LastIndex(s[:off], "<"+name)
	if i < 0 {
		return 1
	}
	return 1 + strings.Count(s[:i], "\n")
}
