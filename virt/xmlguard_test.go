package virt_test

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

// hostileXML is the corpus of hostile documents kept in the repository
// (testdata/hostile): entity bombs, external and parameter entities, deep
// nesting. Each must be refused by the guard.
func hostileXML(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("testdata/hostile/*.xml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no hostile corpus: %v", err)
	}
	docs := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(p)] = string(b)
	}
	return docs
}

func TestHostileXMLCorpusRefused(t *testing.T) {
	for name, doc := range hostileXML(t) {
		err := virt.CheckXML(doc, "(domain_definition)", virt.FromDomain)
		var ve *virt.Error
		if !errors.As(err, &ve) || ve.Code != libvirt.ErrXMLDetail {
			t.Errorf("%s: %v, want VIR_ERR_XML_DETAIL", name, err)
		}
	}
}

// FuzzCheckXML: for any document the guard answers nil or a libvirt error,
// never panics, and what it lets through is within its depth bound and
// refers to no entity but XML's own (the tree builders after it never see
// more).
func FuzzCheckXML(f *testing.F) {
	for _, doc := range hostileXML(f) {
		f.Add(doc)
	}
	for _, s := range []string{"", "<domain/>", "<a>&amp;&lt;&gt;&quot;&apos;&#65;</a>", "<a>&b;</a>", "<a>&b</a>", "<a", "</a>",
		strings.Repeat("<a>", 256) + strings.Repeat("</a>", 256), strings.Repeat("<a>", 258)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := virt.CheckXML(s, "(domain_definition)", virt.FromDomain)
		if err != nil {
			var ve *virt.Error
			if !errors.As(err, &ve) {
				t.Fatalf("%q: error %v is not a *virt.Error", s, err)
			}
			return
		}
		// The oracle: encoding/xml's own reading, counting depth.
		d := xml.NewDecoder(strings.NewReader(s))
		d.Strict = true
		depth := 0
		for {
			tok, err := d.RawToken()
			if errors.Is(err, io.EOF) || err != nil {
				return // a syntax error is the caller parser's to word
			}
			switch tok.(type) {
			case xml.StartElement:
				if depth++; depth > virt.MaxXMLDepth+1 {
					t.Fatalf("%q: passed with elements %d deep", s, depth)
				}
			case xml.EndElement:
				depth--
			}
		}
	})
}
