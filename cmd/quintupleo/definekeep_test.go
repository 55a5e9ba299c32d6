package main

// Define keeps what the cloud can keep and refuses the rest (issue 10,
// defect 5): <title>, <description> and <metadata> (sushy-tools' BIOS
// settings) written by the real virsh come back from dumpxml of a second
// quintupleo over the same cloud; a change of anything else is refused by
// name with nothing written; an ElementTree round trip of dumpxml is a
// no-op.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
)

// sushyBIOS is what sushy-tools' libvirt driver does to store BIOS
// settings: ElementTree adds <sushy:bios> to <metadata> and writes the
// document back (every namespace declared on <domain>). It also sets a
// title and a two-line description.
const sushyBIOS = `
import sys, xml.etree.ElementTree as ET
ns = 'http://openstack.org/xmlns/libvirt/sushy'
ET.register_namespace('sushy', ns)
t = ET.parse(sys.argv[1]); r = t.getroot()
md = r.find('metadata')
if md is None:
    md = ET.SubElement(r, 'metadata')
for old in md.findall('{%s}bios' % ns):
    md.remove(old)
attrs = ET.SubElement(ET.SubElement(md, '{%s}bios' % ns), '{%s}attributes' % ns)
for k, v in sorted(dict(arg.split('=') for arg in sys.argv[2:]).items()):
    ET.SubElement(attrs, '{%s}attribute' % ns, name=k, value=v)
title = ET.Element('title'); title.text = 'rack 4 & slot 2'
desc = ET.Element('description'); desc.text = 'first line\nsecond <line>'
r.insert(2, title); r.insert(3, desc)
t.write(sys.argv[1])
`

// etRoundTrip reads the file with ElementTree and writes it back unchanged
// (prefixes become ns0, declarations move to <domain>, quotes change).
const etRoundTrip = `import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]); t.write(sys.argv[1])`

// python runs Debian's python3 on a script with args.
func python(t *testing.T, script string, args ...string) {
	t.Helper()
	bin := testtool.Require(t, "python3")
	if _, errOut, code := testtool.Run(t, exec.CommandContext(t.Context(), bin, append([]string{"-c", script}, args...)...)); code != 0 {
		t.Fatalf("python3: exit %d: %s", code, errOut)
	}
}

// cloudWrites are the non-GET requests cloudsim has seen since seq.
func (e *env) cloudWrites(t *testing.T, since int64) []string {
	t.Helper()
	var out []string
	for _, r := range e.sim.Requests() {
		if r.Seq > since && r.Method != "GET" && r.Service != "identity" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// lastSeq is the newest request's sequence number.
func (e *env) lastSeq() int64 {
	reqs := e.sim.Requests()
	if len(reqs) == 0 {
		return 0
	}
	return reqs[len(reqs)-1].Seq
}

// defineEdited writes dumpxml --inactive of domain to a file, lets edit
// change it, and runs virsh define on it.
func (e *env) defineEdited(t *testing.T, domain string, edit func(file string)) (stdout, stderr string, code int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), domain+".xml")
	if err := os.WriteFile(file, []byte(e.mustVirsh(t, "dumpxml", "--inactive", domain)), 0o600); err != nil {
		t.Fatal(err)
	}
	edit(file)
	return e.virsh(t, "define", file)
}

func TestDefineKeepsMetadataTitleAndDescription(t *testing.T) {
	e := startEnv(t)
	setBIOS := func(settings ...string) {
		t.Helper()
		if _, errOut, code := e.defineEdited(t, "node-1", func(f string) { python(t, sushyBIOS, append([]string{f}, settings...)...) }); code != 0 {
			t.Fatalf("virsh define with sushy BIOS metadata: exit %d: %s", code, errOut)
		}
	}
	setBIOS("BootMode=Uefi", "ProcTurboMode=Enabled")
	// sushy-tools' PATCH BIOS/Settings re-defines with the new value.
	setBIOS("BootMode=Bios", "ProcTurboMode=Enabled")

	want := `  <title>rack 4 &amp; slot 2</title>
  <description>first line&#10;second &lt;line&gt;</description>
  <metadata xmlns:sushy="http://openstack.org/xmlns/libvirt/sushy">
    <sushy:bios>
      <sushy:attributes>
        <sushy:attribute name="BootMode" value="Bios"/>
        <sushy:attribute name="ProcTurboMode" value="Enabled"/>
      </sushy:attributes>
    </sushy:bios>
  </metadata>
`
	// A second quintupleo over the same cloud (a replica, or a restart)
	// shows what the first one was given.
	other := e.restart(t)
	if got := keptLines(other.mustVirsh(t, "dumpxml", "node-1")); got != want {
		t.Errorf("dumpxml from a second quintupleo:\n%s\nwant:\n%s", got, want)
	}
	// Other metadata keys stay: the boot device and the operator's own.
	e.mustVirsh(t, "autostart", "node-1")
	setBIOS("BootMode=Uefi")
	if md := e.server(t, "node-1").Metadata; md["libvirt:autostart"] != "1" {
		t.Errorf("autostart lost by define: %v", md)
	}

	// An ElementTree round trip of dumpxml (ns0: prefixes, declarations
	// on <domain>, double quotes) through virsh edit is no change at all.
	since := e.lastSeq()
	t.Setenv("EDITOR", "python3 -c '"+etRoundTrip+"'")
	if out := e.mustVirsh(t, "edit", "node-1"); !strings.Contains(out, "Domain 'node-1' XML configuration edited.") {
		t.Fatalf("virsh edit: %q", out)
	}
	if w := e.cloudWrites(t, since); len(w) != 0 {
		t.Errorf("an ElementTree round trip wrote to the cloud: %q", w)
	}
	if got := keptLines(e.mustVirsh(t, "dumpxml", "node-1")); !strings.Contains(got, `<sushy:attribute name="BootMode" value="Uefi"/>`) {
		t.Errorf("dumpxml after the round trip:\n%s", got)
	}
}

// keptLines are the dumpxml lines between <uuid> and <memory>.
func keptLines(xml string) string {
	_, rest, _ := strings.Cut(xml, "</uuid>\n")
	kept, _, _ := strings.Cut(rest, "  <memory ")
	return kept
}

func TestDefineRefusesUnmodelledChangesByName(t *testing.T) {
	e := startEnv(t)
	cases := []struct{ what, from, to string }{
		{"<clock>", "<clock offset='utc'/>", "<clock offset='localtime'/>"},
		{"<on_reboot>", "<on_reboot>restart</on_reboot>", "<on_reboot>destroy</on_reboot>"},
		{"<features>", "<apic/>", "<apic/><pae/>"},
		{"<cpu>", "mode='host-passthrough'", "mode='host-model'"},
		{"machine type", "machine='pc-i440fx-7.2'", "machine='pc-q35-7.2'"},
		{"domain type", "<domain type='kvm'>", "<domain type='qemu'>"},
		{"<emulator>", "/usr/bin/qemu-system-x86_64", "/usr/bin/kvm"},
		{"<graphics>", "</devices>", "<graphics type='vnc' port='-1' autoport='yes'/></devices>"},
		{"<serial>", "<serial type='pty'>", "<serial type='file'><source path='/tmp/x'/>"},
		{"<console>", "<target type='serial' port='0'/>", "<target type='virtio' port='0'/>"},
		{"<bootmenu>", "</os>", "<bootmenu enable='yes'/></os>"},
	}
	since := e.lastSeq()
	// Unchanged dumpxml, re-serialised by ElementTree: accepted, a no-op.
	if _, errOut, code := e.defineEdited(t, "node-3", func(f string) { python(t, etRoundTrip, f) }); code != 0 {
		t.Fatalf("define of an ElementTree round trip: exit %d: %s", code, errOut)
	}
	for _, c := range cases {
		_, errOut, code := e.defineEdited(t, "node-3", func(f string) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(b), c.from, c.to, 1)
			if edited == string(b) {
				t.Fatalf("%q not in dumpxml", c.from)
			}
			if err := os.WriteFile(f, []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		want := "error: unsupported configuration: cannot change " + c.what + " of domain 'node-3' in the cloud"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("define changing %s: exit %d, stderr %q, want %q", c.what, code, errOut, want)
		}
	}
	if w := e.cloudWrites(t, since); len(w) != 0 {
		t.Errorf("refused defines wrote to the cloud: %q", w)
	}
}

func TestDefineRefusesMetadataPastTheLimit(t *testing.T) {
	e := startEnv(t)
	since := e.lastSeq()
	big := strings.Repeat("x", 17*1024)
	_, errOut, code := e.defineEdited(t, "node-2", func(f string) {
		python(t, `import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]); r = t.getroot()
ET.SubElement(ET.SubElement(r, 'metadata'), '{urn:big}blob').text = sys.argv[2]
t.write(sys.argv[1])`, f, big)
	})
	want := "error: unsupported configuration: <title>, <description> and <metadata> of domain 'node-2' take 69 cloud metadata items; the cloud keeps at most 64 (16320 bytes)"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("define with 17 KiB of metadata: exit %d, stderr %q, want %q", code, errOut, want)
	}
	if w := e.cloudWrites(t, since); len(w) != 0 {
		t.Errorf("a refused define wrote to the cloud: %q", w)
	}
}
