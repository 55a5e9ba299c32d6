package domxml

import (
	"strings"
	"testing"

	"quintupleo/virt"
)

// TestMetadataElementAsLibvirt replays what a real libvirtd 9.0 answered
// (test driver, virDomainSetMetadata then virDomainGetMetadata and
// dumpxml): the namespace injected under the key, declared last; the
// element replaced at the end; get without the namespace; the errors.
func TestMetadataElementAsLibvirt(t *testing.T) {
	st, err := SetMetadataElement("", `<bios xmlns:q="http://other/"><attr name="a" q:v="1">t</attr><sub><x:deep xmlns:x="http://x/"/></sub></bios>`, "s", "http://sushy/")
	if err != nil {
		t.Fatal(err)
	}
	if st, err = SetMetadataElement(st, `<other>hi</other>`, "o", "http://o/"); err != nil {
		t.Fatal(err)
	}
	want := `<metadata>
    <s:bios xmlns:q="http://other/" xmlns:s="http://sushy/">
      <s:attr name="a" q:v="1">t</s:attr>
      <s:sub>
        <x:deep xmlns:x="http://x/"/>
      </s:sub>
    </s:bios>
    <o:other xmlns:o="http://o/">hi</o:other>
  </metadata>`
	if got := formatMetadata(st, 1); got != want {
		t.Errorf("dumpxml's <metadata>:\n%s\nwant:\n%s", got, want)
	}
	get, ok := MetadataElement(st, "http://sushy/")
	if wantGet := "<bios xmlns:q=\"http://other/\">\n  <attr name=\"a\" q:v=\"1\">t</attr>\n  <sub>\n    <x:deep xmlns:x=\"http://x/\"/>\n  </sub>\n</bios>"; !ok || get != wantGet {
		t.Errorf("get = %q, %v\nwant %q", get, ok, wantGet)
	}
	if st, err = SetMetadataElement(st, `<new/>`, "z", "http://sushy/"); err != nil {
		t.Fatal(err)
	}
	want = "<metadata>\n    <o:other xmlns:o=\"http://o/\">hi</o:other>\n    <z:new xmlns:z=\"http://sushy/\"/>\n  </metadata>"
	if got := formatMetadata(st, 1); got != want {
		t.Errorf("after replacing:\n%s\nwant:\n%s", got, want)
	}
	if get, ok := MetadataElement(st, "http://o/"); !ok || get != "<other>hi</other>" {
		t.Errorf("get o = %q, %v", get, ok)
	}
	if _, ok := MetadataElement(st, "http://none/"); ok {
		t.Error("an absent namespace was found")
	}
	st, _ = SetMetadataElement(st, "", "", "http://sushy/")
	if st, _ = SetMetadataElement(st, "", "", "http://o/"); st != "" {
		t.Errorf("all removed: stored %q", st)
	}

	for _, c := range []struct{ xml, key, msg string }{
		{"<a/><b/>", "s", "(metadata_xml):1: Extra content at the end of the document\n<a/><b/>\n----^"},
		{"<a/>", "bad key", "internal error: failed to validate prefix for a new XML namespace"},
	} {
		_, err := SetMetadataElement("", c.xml, c.key, "http://x/")
		if ve, ok := virt.As(err); !ok || ve.Message() != c.msg || !strings.Contains(c.msg, "prefix") && ve.Domain != virt.FromDomain {
			t.Errorf("set %q key %q: %v, want %q", c.xml, c.key, err, c.msg)
		}
	}
}
