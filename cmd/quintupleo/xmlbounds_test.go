package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileXML is what an attacker puts in a document: each entry is a
// function of the document's root (domain, network, volume, b) and the
// start of the error libvirtd 9.0 prints for it after the document's name
// (checked against the reference libvirtd, test driver).
var hostileXML = []struct {
	name string
	doc  func(root, body string) string
	want string
}{
	{"billion laughs", func(root, body string) string {
		decl := `<!ENTITY lol "lol">`
		prev := "lol"
		for i := 1; i <= 9; i++ {
			cur := "lol" + string(rune('0'+i))
			decl += "\n<!ENTITY " + cur + ` "` + strings.Repeat("&"+prev+";", 10) + `">`
			prev = cur
		}
		return "<?xml version=\"1.0\"?>\n<!DOCTYPE " + root + " [\n" + decl + "\n]>\n<" + root + ">" + body + "<x>&lol9;</x></" + root + ">"
	}, ":14: Entity 'lol9' not defined"},
	{"external entity", func(root, body string) string {
		return "<!DOCTYPE " + root + ` [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + "\n<" + root + ">" + body + "<x>&xxe;</x></" + root + ">"
	}, ":2: Entity 'xxe' not defined"},
	{"300 levels", func(root, body string) string {
		return "<" + root + ">" + body + strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300) + "</" + root + ">"
	}, ":1: Excessive depth in document: 256 use XML_PARSE_HUGE option"},
}

// TestHostileXMLOnEveryPath sends each hostile document with the real virsh
// down every command that makes quintupleo parse client XML — define
// (virsh edit defines too), create, net-define, net-create, vol-create,
// metadata --set — and wants libvirtd's refusal from each, and the server
// still serving afterwards. Before the shared guard (virt.CheckXML) a
// document 300 levels deep was defined, and the entity errors were Go's
// ("invalid character entity &lol9;").
func TestHostileXMLOnEveryPath(t *testing.T) {
	e := startEnv(t)
	dir := t.TempDir()
	dom := "<name>hostile</name><memory>1024</memory><os><type>hvm</type></os>"
	paths := []struct {
		cmd     []string // the file's path is appended
		root    string
		body    string
		docName string
	}{
		{[]string{"define"}, "domain type='kvm'", dom, "(domain_definition)"},
		{[]string{"create"}, "domain type='kvm'", dom, "(domain_definition)"},
		{[]string{"net-define"}, "network", "<name>hostile</name>", "(network_definition)"},
		{[]string{"net-create"}, "network", "<name>hostile</name>", "(network_definition)"},
		{[]string{"vol-create", "default"}, "volume", "<name>hostile</name><capacity>1</capacity>", "(storage_volume_definition)"},
		{[]string{"metadata", "node-0", "http://example.org/x/", "--key", "x", "--set"}, "b", "", "(metadata_xml)"},
	}
	for _, p := range paths {
		for _, h := range hostileXML {
			t.Run(p.cmd[0]+"/"+h.name, func(t *testing.T) {
				root, _, _ := strings.Cut(p.root, " ")
				doc := strings.Replace(h.doc(root, p.body), "<"+root+">", "<"+p.root+">", 1)
				arg := doc
				if p.cmd[0] != "metadata" {
					arg = filepath.Join(dir, "doc.xml")
					if err := os.WriteFile(arg, []byte(doc), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				_, errOut, code := e.virsh(t, append(p.cmd, arg)...)
				if want := "error: " + p.docName + h.want + "\n"; code == 0 || !strings.Contains(errOut, want) {
					t.Errorf("exit %d, stderr:\n%.600s\nwant a line %q", code, errOut, want)
				}
			})
		}
	}
	if out := e.mustVirsh(t, "list", "--all", "--name"); !strings.Contains(out, "node-0") || strings.Contains(out, "hostile") {
		t.Errorf("after the hostile documents, list --all --name:\n%s", out)
	}
}

// TestXMLDepthLimitIsLibxml2s checks the bound itself: 257 open elements
// are accepted as libxml2 accepts them, the 258th is refused with
// libvirtd's exact text, the caret under its '<'.
func TestXMLDepthLimitIsLibxml2s(t *testing.T) {
	e := startEnv(t)
	file := filepath.Join(t.TempDir(), "deep.xml")
	head := "<domain type='kvm'><name>node-0</name><memory>1024</memory><os><type>hvm</type></os><metadata>"
	doc := head + strings.Repeat("<a>", 256) + strings.Repeat("</a>", 256) + "</metadata></domain>\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, _ := e.virsh(t, "define", file)
	firstLine := strings.TrimSuffix(doc, "\n")
	caret := strings.Repeat("-", len(head)+255*3) + "^"
	want := "error: Failed to define domain from " + file + "\nerror: (domain_definition):1: Excessive depth in document: 256 use XML_PARSE_HUGE option\n" +
		firstLine + "\n" + caret
	if errOut = strings.TrimSpace(errOut); errOut != want {
		t.Errorf("258 levels: stderr ends\n%q\nwant\n%q", errOut[max(len(errOut)-80, 0):], want[len(want)-80:])
	}
	// 257 levels parse: the define goes on to compare node-0's definition
	// (and refuses the memory change, which is not about depth).
	doc = head + strings.Repeat("<a>", 255) + strings.Repeat("</a>", 255) + "</metadata></domain>\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, _ = e.virsh(t, "define", file); strings.Contains(errOut, "Excessive depth") {
		t.Errorf("257 levels refused:\n%.300s", errOut)
	}
}
