package virt

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The bounds every XML document a client sends is held to before any
// parser builds anything from it (CheckXML). They are libxml2's, as libvirt
// parses with it and without XML_PARSE_HUGE.
const (
	// MaxXMLDepth is libxml2's xmlParserMaxDepth: an element opened while
	// this many are already open is refused. Deeper documents made Go's
	// tree builders hold a frame per level (a 4 MiB document of "<a>" is a
	// million levels).
	MaxXMLDepth = 256
	// MaxXMLBytes is REMOTE_STRING_MAX, the longest string a libvirt RPC
	// call carries: no client document is longer. It bounds callers that do
	// not come through the wire.
	MaxXMLBytes = 4 << 20
)

// CheckXML holds the client document s, named docName as libvirt names it
// in its errors ("(domain_definition)", "(network_definition)", …), to the
// bounds above, and refuses entity references other than XML's five, with
// libxml2's wording as libvirt prints it (VIR_ERR_XML_DETAIL). It returns
// nil for a document within them, whatever else is wrong with it: the
// caller's parser words other syntax errors. Entities are never expanded
// and nothing external is read: encoding/xml knows only the predefined
// entities, so a billion-laughs document or one whose entity names
// "file:///etc/passwd" is refused at its first reference, "Entity 'lol9'
// not defined" (libvirtd does not load external entities either; it
// substitutes internal ones within libxml2's amplification limits).
func CheckXML(s, docName string, from ErrorDomain) error {
	if len(s) > MaxXMLBytes {
		return XMLDetail(from, fmt.Sprintf("%s: document of %d bytes is longer than the %d bytes a document may have",
			docName, len(s), MaxXMLBytes), &XMLLimitError{Bound: XMLBoundSize})
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	depth := 0
	for {
		before := int(d.InputOffset())
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return entityError(s, docName, from, d, err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth > MaxXMLDepth {
				return XMLDetailAt(from, docName, s, before,
					fmt.Sprintf("Excessive depth in document: %d use XML_PARSE_HUGE option", MaxXMLDepth), &XMLLimitError{Bound: XMLBoundDepth})
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// entityError words encoding/xml's refusal of an entity reference as
// libxml2 does ("Entity 'x' not defined", the caret after the reference);
// other syntax errors are left to the caller's parser (nil).
func entityError(s, docName string, from ErrorDomain, d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		return nil
	}
	name, ok := strings.CutPrefix(se.Msg, "invalid character entity &")
	if !ok {
		return nil
	}
	name = strings.TrimSuffix(name, ";")
	name = strings.TrimSuffix(name, " (no semicolon)")
	return XMLDetailAt(from, docName, s, int(d.InputOffset()), fmt.Sprintf("Entity '%s' not defined", name),
		&XMLLimitError{Bound: XMLBoundEntity, Err: err})
}

// XMLBound is which bound of CheckXML refused a document.
type XMLBound string

// CheckXML's bounds.
const (
	XMLBoundSize   XMLBound = "size"
	XMLBoundDepth  XMLBound = "depth"
	XMLBoundEntity XMLBound = "entity"
)

// XMLLimitError is the cause inside the *Error CheckXML refuses with: which
// bound the document broke, so that a front end can count refusals by
// bound without parsing the message (the client sees only the message).
type XMLLimitError struct {
	Bound XMLBound
	Err   error // encoding/xml's complaint, for an entity
}

func (e *XMLLimitError) Error() string {
	s := "refused by the XML guard's " + string(e.Bound) + " bound"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *XMLLimitError) Unwrap() error { return e.Err }

// XMLDetailAt is VIR_ERR_XML_DETAIL as libvirt prints libxml2's complaint
// at byte offset of src: "DOCNAME:LINE: MESSAGE", then the offending line
// and a caret under the position.
func XMLDetailAt(from ErrorDomain, docName, src string, offset int, msg string, cause error) *Error {
	offset = min(max(offset, 0), len(src))
	line := 1 + strings.Count(src[:offset], "\n")
	context := "(null)\n^"
	atEnd := offset == len(src) && (src == "" || src[len(src)-1] == '\n')
	if !atEnd {
		start := strings.LastIndexByte(src[:offset], '\n') + 1
		end := strings.IndexByte(src[offset:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += offset
		}
		context = src[start:end] + "\n" + strings.Repeat("-", offset-start) + "^"
	}
	return XMLDetail(from, fmt.Sprintf("%s:%d: %s\n%s", docName, line, msg, context), cause)
}
