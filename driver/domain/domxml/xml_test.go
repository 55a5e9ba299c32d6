package domxml_test

import (
	"bufio"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/domain/domxml"
	"quintupleo/internal/testtool"
	"quintupleo/virt"
)

// -update rewrites the goldens. Registered only if no other test file of this
// package's test binary did already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updateGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var testUUID = virt.UUID{0xf9, 0x2e, 0xec, 0xf1, 0x5d, 0x24, 0x4f, 0xe3, 0x84, 0x47, 0xad, 0x17, 0x2a, 0x38, 0x51, 0xc1}

func baseSpec() domxml.DomainSpec {
	return domxml.DomainSpec{
		Name: "node-0", UUID: testUUID, ID: -1, MemoryKiB: 4194304, VCPUs: 2,
		BootDev: "hd", Firmware: "bios",
		Interfaces: []domxml.Interface{{MAC: "52:54:00:aa:bb:cc", Network: "provisioning", Model: "virtio"}},
		Disks:      []domxml.Disk{domxml.RootDisk()},
	}
}

// xmlCases are the golden cases: spec, flags, file name.
func xmlCases() []struct {
	name  string
	spec  domxml.DomainSpec
	flags uint32
} {
	inactive := baseSpec()

	active := baseSpec()
	active.ID = 11
	active.Interfaces = []domxml.Interface{
		{MAC: "52:54:00:aa:bb:cc", Network: "provisioning", Target: "tap364cb3c5-14", Model: "virtio"},
		{MAC: "fa:16:3e:00:00:02", Network: "private", Target: "tap0b7e5a1c-2f", Model: "e1000"},
	}
	active.Disks = []domxml.Disk{
		{Device: "disk", Target: "vda", Bus: "virtio", Source: "/var/lib/nova/instances/f92eecf1-5d24-4fe3-8447-ad172a3851c1/disk"},
		{Device: "cdrom", Target: "hdc", Bus: "ide"},
	}
	active.BootDev = "network"

	efi := baseSpec()
	efi.Firmware = "efi"
	efi.BootDev = "network"

	nasty := baseSpec()
	nasty.Name = `a&b<c>'d"e`
	nasty.Description = "fault: bad mac address 52:54:00:11:22:33 in <boot dev='hd'/>\n</os>\tboot order=1 & it's \"quoted\""
	nasty.Interfaces = []domxml.Interface{{MAC: "52:54:00:aa:bb:cc", Network: "net 'quoted' & <x>", Model: "virtio"}}

	noNICs := baseSpec()
	noNICs.Interfaces = nil
	noNICs.Disks = nil
	noNICs.BootDev = "cdrom"

	return []struct {
		name  string
		spec  domxml.DomainSpec
		flags uint32
	}{
		{"inactive", inactive, 0},
		{"active", active, 0},
		{"active-inactive-flag", active, virt.XMLInactive | virt.XMLSecure},
		{"active-migratable", active, virt.XMLMigratable},
		{"efi", efi, 0},
		{"escaping", nasty, 0},
		{"no-devices", noNICs, 0},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range xmlCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := domxml.RenderXML(tc.spec, tc.flags)
			path := filepath.Join("testdata", "xml", tc.name+".xml")
			if updateGoldens() {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("RenderXML differs from %s (-update rewrites it):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff is a minimal "-want +got" line diff, enough for small goldens.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}

// TestRenderRules checks clients.md §0 on every golden case.
func TestRenderRules(t *testing.T) {
	elementLine := regexp.MustCompile(`^( {2})*<[^<>]*>([^<>]*</[a-zA-Z_]+>)?$`)
	macLine := regexp.MustCompile(`^ *<mac address='[0-9a-f:]{17}'/>$`)
	bootLine := regexp.MustCompile(`^ *<boot dev='(hd|network|cdrom)'/>$`)
	for _, tc := range xmlCases() {
		t.Run(tc.name, func(t *testing.T) {
			x := domxml.RenderXML(tc.spec, tc.flags)
			if !strings.HasSuffix(x, "</domain>\n") {
				t.Errorf("does not end with </domain> and a newline")
			}
			lines := strings.Split(strings.TrimSuffix(x, "\n"), "\n")
			inOS, bootsInOS, osClose := false, 0, 0
			for i, l := range lines {
				if !elementLine.MatchString(l) {
					t.Errorf("line %d is not one indented element: %q", i+1, l)
				}
				if strings.Contains(l, `"`) {
					t.Errorf("line %d has a double quote: %q", i+1, l)
				}
				if strings.Contains(l, "mac address") && !macLine.MatchString(l) {
					t.Errorf("line %d mentions 'mac address' outside a <mac> element: %q", i+1, l)
				}
				if macLine.MatchString(l) && strings.Index(l, "'") < strings.Index(l, "<mac address=") {
					t.Errorf("line %d: quote before <mac address=", i+1)
				}
				if strings.Contains(l, "boot dev") || strings.Contains(l, "boot order") || strings.Contains(l, "<boot") {
					if !bootLine.MatchString(l) || !inOS {
						t.Errorf("line %d: boot text outside <os>'s boot line: %q", i+1, l)
					}
					bootsInOS++
				}
				switch strings.TrimSpace(l) {
				case "</os>":
					inOS = false
					osClose++
				case "<os>", "<os firmware='efi'>":
					inOS = true
				}
				if strings.Contains(l, "</os>") && strings.TrimSpace(l) != "</os>" {
					t.Errorf("line %d: </os> not on its own line: %q", i+1, l)
				}
			}
			if bootsInOS != 1 || osClose != 1 {
				t.Errorf("%d <boot dev> lines, %d </os> lines; want 1 and 1", bootsInOS, osClose)
			}
			live := strings.HasPrefix(lines[0], "<domain type='kvm' id=")
			wantLive := tc.spec.ID > 0 && tc.flags&virt.XMLInactive == 0
			if live != wantLive {
				t.Errorf("id attribute present=%v, want %v: %s", live, wantLive, lines[0])
			}
			if !wantLive && (strings.Contains(x, "<target dev='tap") || strings.Contains(x, "<alias")) {
				t.Errorf("inactive XML has runtime-only elements")
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, tc := range xmlCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.spec
			if tc.flags&virt.XMLInactive != 0 {
				want.ID = -1
				want.Interfaces = append([]domxml.Interface(nil), want.Interfaces...)
				for i := range want.Interfaces {
					want.Interfaces[i].Target = ""
				}
			}
			want.Disks = append([]domxml.Disk(nil), want.Disks...)
			for i, d := range want.Disks {
				if d.Device == "disk" && d.Source == "" { // rendered with Nova's path
					want.Disks[i].Source = "/var/lib/nova/instances/f92eecf1-5d24-4fe3-8447-ad172a3851c1/disk"
				}
			}
			got, err := domxml.ParseXML(domxml.RenderXML(tc.spec, tc.flags))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseXML(RenderXML(s)):\n got %+v\nwant %+v", got, want)
			}
			if d := domxml.Diff(tc.spec, got).Names(); len(d) != 0 {
				t.Errorf("Diff after round trip = %v", d)
			}
		})
	}
}

// ironicCommands reads the Ironic ssh driver's command lines (verbatim copy
// in testdata) by what they do.
func ironicCommands(t *testing.T) (macs, bootGet string, bootSet map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/ironic_ssh_virsh_cmds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bootSet = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#") || l == "":
		case strings.Contains(l, " dumpxml ") && strings.Contains(l, "mac address"):
			macs = l
		case strings.Contains(l, " dumpxml ") && strings.Contains(l, "boot dev="):
			bootGet = l
		case strings.HasPrefix(l, "EDITOR="):
			for _, dev := range []string{"network", "hd", "cdrom"} {
				if strings.Contains(l, `<boot dev=\"`+dev+`\"/>`) {
					bootSet[dev] = l
				}
			}
		}
	}
	if macs == "" || bootGet == "" || len(bootSet) != 3 {
		t.Fatalf("could not find the Ironic commands (macs %q, get %q, set %v)", macs, bootGet, bootSet)
	}
	return macs, bootGet, bootSet
}

// fakeVirsh stands in for /usr/bin/virsh in the Ironic command lines: dumpxml
// prints $XMLFILE; edit runs $EDITOR on it through sh, as virsh does.
const fakeVirsh = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --connect) shift 2 ;;
    dumpxml) cat "$XMLFILE"; exit $? ;;
    edit) exec /bin/sh -c "$EDITOR '$XMLFILE'" ;;
    *) shift ;;
  esac
done
exit 1
`

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testtool.Require(t, tool)
	}
}

// runIronic runs one Ironic command line through the real sh over xml and
// returns stdout and the (possibly edited) file content.
func runIronic(t *testing.T, cmdline, xml string) (stdout, file string) {
	t.Helper()
	dir := t.TempDir()
	virsh := filepath.Join(dir, "virsh")
	if err := os.WriteFile(virsh, []byte(fakeVirsh), 0o755); err != nil {
		t.Fatal(err)
	}
	xmlFile := filepath.Join(dir, "node-0.xml")
	if err := os.WriteFile(xmlFile, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmdline, "/usr/bin/virsh ") {
		t.Fatalf("no /usr/bin/virsh in %q", cmdline)
	}
	cmd := exec.Command("sh", "-c", strings.Replace(cmdline, "/usr/bin/virsh ", virsh+" ", 1))
	cmd.Env = append(os.Environ(), "XMLFILE="+xmlFile)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, errb.String())
	}
	edited, err := os.ReadFile(xmlFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), string(edited)
}

func TestIronicPipelines(t *testing.T) {
	requireTools(t, "sh", "awk", "tr", "head", "sed", "cat")
	macsCmd, bootGetCmd, bootSetCmds := ironicCommands(t)
	for _, tc := range xmlCases() {
		t.Run(tc.name, func(t *testing.T) {
			x := domxml.RenderXML(tc.spec, tc.flags)

			out, _ := runIronic(t, macsCmd, x)
			var want strings.Builder
			for _, ifc := range tc.spec.Interfaces {
				want.WriteString(strings.ReplaceAll(ifc.MAC, ":", "") + "\n")
			}
			if out != want.String() {
				t.Errorf("MAC pipeline printed %q, want %q", out, want.String())
			}

			out, _ = runIronic(t, bootGetCmd, x)
			if out != tc.spec.BootDev+"\n" {
				t.Errorf("boot-device pipeline printed %q, want exactly one line %q", out, tc.spec.BootDev+"\n")
			}

			// virsh edit works on the inactive XML.
			inactive := domxml.RenderXML(tc.spec, virt.XMLInactive|virt.XMLSecure)
			for _, dev := range []string{"network", "hd", "cdrom"} {
				_, edited := runIronic(t, bootSetCmds[dev], inactive)
				got, err := domxml.ParseXML(edited)
				if err != nil {
					t.Fatalf("set %s: ParseXML of the edited file: %v\n%s", dev, err, edited)
				}
				if got.BootDev != dev {
					t.Errorf("set %s: BootDev = %q", dev, got.BootDev)
				}
				wantDiff := []string{"boot device"}
				if tc.spec.BootDev == dev {
					wantDiff = nil
				}
				if d := domxml.Diff(tc.spec, got).Names(); !reflect.DeepEqual(d, wantDiff) {
					t.Errorf("set %s: Diff = %v, want %v", dev, d, wantDiff)
				}
				// And the domain's next dumpxml reads back through Ironic's getter.
				next := tc.spec
				next.BootDev = got.BootDev
				if out, _ := runIronic(t, bootGetCmd, domxml.RenderXML(next, tc.flags)); out != dev+"\n" {
					t.Errorf("set %s, then get: %q", dev, out)
				}
			}
		})
	}
}

// Ironic's sed also deletes per-device <boot order> lines, so its edit works
// on XML that boots by device order (as defined by devstack's templates).
func TestIronicEditOfPerDeviceBootOrder(t *testing.T) {
	requireTools(t, "sh", "sed")
	_, _, bootSet := ironicCommands(t)
	in := readTestXML(t, "per-device-boot-order.xml")
	before, err := domxml.ParseXML(in)
	if err != nil {
		t.Fatal(err)
	}
	if before.BootDev != "hd" {
		t.Fatalf("BootDev = %q, want hd (the disk has the lowest order)", before.BootDev)
	}
	_, edited := runIronic(t, bootSet["network"], in)
	after, err := domxml.ParseXML(edited)
	if err != nil {
		t.Fatalf("%v\n%s", err, edited)
	}
	if after.BootDev != "network" {
		t.Errorf("BootDev = %q, want network", after.BootDev)
	}
	if d := domxml.Diff(before, after).Names(); !reflect.DeepEqual(d, []string{"boot device"}) {
		t.Errorf("Diff = %v", d)
	}
}

func readTestXML(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "xml", "input", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseClientXML reads the XML that clients define (clients.md §4).
func TestParseClientXML(t *testing.T) {
	tests := []struct {
		file string
		want domxml.DomainSpec
	}{
		{"tripleo-incubator.xml", domxml.DomainSpec{
			Name: "baremetalbrbm_0", ID: -1, MemoryKiB: 4194304, VCPUs: 1, BootDev: "network", Firmware: "bios",
			Interfaces: []domxml.Interface{{MAC: "00:5c:2b:61:a1:2f", Network: "brbm", Model: "virtio"}},
			Disks:      []domxml.Disk{{Device: "disk", Target: "sda", Bus: "sata", Source: "/var/lib/libvirt/images/baremetalbrbm_0.qcow2"}},
		}},
		{"tripleo-quickstart.xml", domxml.DomainSpec{
			Name: "control_0", ID: -1, MemoryKiB: 8388608, VCPUs: 2, BootDev: "network", Firmware: "bios",
			Interfaces: []domxml.Interface{
				{MAC: "00:35:75:d1:1f:6f", Network: "brovc", Model: "virtio"},
				{MAC: "00:35:75:d1:1f:71", Network: "brext", Model: "virtio"},
			},
			Disks: []domxml.Disk{{Device: "disk", Target: "vda", Bus: "virtio", Source: "oooq_pool/control_0.qcow2"}},
		}},
		{"per-device-boot-order.xml", domxml.DomainSpec{
			Name: "node-1", UUID: testUUID, ID: -1, MemoryKiB: 2097152, VCPUs: 2, BootDev: "hd", Firmware: "efi",
			Interfaces: []domxml.Interface{{MAC: "52:54:00:12:34:56", Network: "provisioning", Target: "tap-node-1i1", Model: "e1000"}},
			Disks:      []domxml.Disk{{Device: "disk", Target: "vda", Bus: "virtio", Source: "/var/lib/libvirt/images/node-1.qcow2"}},
		}},
		{"ironic-sed-output.xml", domxml.DomainSpec{
			Name: "node-0", UUID: testUUID, ID: -1, MemoryKiB: 4194304, VCPUs: 2, BootDev: "network", Firmware: "bios",
			Interfaces: []domxml.Interface{{MAC: "52:54:00:aa:bb:cc", Network: "provisioning", Model: "virtio"}},
			Disks:      []domxml.Disk{domxml.RootDisk()},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := domxml.ParseXML(readTestXML(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseXMLErrors pins libvirt 9.0's answers, recorded with `virsh define`
// against a real libvirtd (testdata/README).
func TestParseXMLErrors(t *testing.T) {
	const head = "<domain type='kvm'><name>zz</name><memory>1024</memory><os><type>hvm</type>"
	tests := []struct {
		name, in string
		code     libvirt.ErrorNumber
		msg      string
	}{
		{"empty", "", libvirt.ErrXMLDetail, "(domain_definition):1: Document is empty\n(null)\n^"},
		{"garbage", "garbage", libvirt.ErrXMLDetail, "(domain_definition):1: Start tag expected, '<' not found\ngarbage\n^"},
		{"whitespace", "   \n  ", libvirt.ErrXMLDetail, "(domain_definition):2: Start tag expected, '<' not found\n  \n--^"},
		{"mismatch", "<domain type='test'><name>zz</name><os><type>hvm</type></domain>", libvirt.ErrXMLDetail,
			"(domain_definition):1: Opening and ending tag mismatch: os line 1 and domain\n<domain type='test'><name>zz</name><os><type>hvm</type></domain>\n" + strings.Repeat("-", 64) + "^"},
		{"mismatch-lines", "<domain type='test'>\n  <name>zz</name>\n  <os>\n  </domain>\n", libvirt.ErrXMLDetail,
			"(domain_definition):4: Opening and ending tag mismatch: os line 3 and domain\n  </domain>\n-----------^"},
		{"unclosed", "<domain type='test'><name>zz</name>", libvirt.ErrXMLDetail,
			"(domain_definition):1: Premature end of data in tag domain line 1\n<domain type='test'><name>zz</name>\n" + strings.Repeat("-", 35) + "^"},
		{"unclosed-inner", "<domain type='test'><name>zz</name><os>", libvirt.ErrXMLDetail,
			"(domain_definition):1: Premature end of data in tag os line 1\n<domain type='test'><name>zz</name><os>\n" + strings.Repeat("-", 39) + "^"},
		{"unclosed-newline", "<domain type='test'>\n  <name>zz</name>\n", libvirt.ErrXMLDetail,
			"(domain_definition):3: Premature end of data in tag domain line 1\n(null)\n^"},
		{"extra", "<domain type='test'><name>zz</name></domain><x/>", libvirt.ErrXMLDetail,
			"(domain_definition):1: Extra content at the end of the document\n<domain type='test'><name>zz</name></domain><x/>\n" + strings.Repeat("-", 44) + "^"},
		{"extra-lines", "<domain type='test'>\n</domain>\n<x/>\n", libvirt.ErrXMLDetail,
			"(domain_definition):3: Extra content at the end of the document\n<x/>\n^"},
		{"unquoted-attr", "<domain type='test'>\n  <name a=b>zz</name>\n</domain>\n", libvirt.ErrXMLDetail,
			"(domain_definition):2: AttValue: \" or ' expected\n  <name a=b>zz</name>\n----------^"},
		{"wrong-root", "<network><name>x</name></network>", libvirt.ErrXMLError, "XML error: expecting root element of 'domain', not 'network'"},
		{"no-name", "<domain type='kvm'><memory>1024</memory></domain>", libvirt.ErrNoName, "missing name information"},
		{"empty-name", "<domain type='kvm'><name></name><memory>1024</memory><os><type>hvm</type></os></domain>", libvirt.ErrNoName, "missing name information"},
		{"slash-name", "<domain type='kvm'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>", libvirt.ErrXMLError, "XML error: name a/b cannot contain '/'"},
		{"no-type", "<domain><name>zz</name><memory>1024</memory></domain>", libvirt.ErrInternalError, "internal error: missing domain type attribute"},
		{"bad-type", "<domain type='foo'><name>zz</name><memory>1024</memory></domain>", libvirt.ErrConfigUnsupported, "unsupported configuration: invalid domain type foo"},
		{"bad-boot-dev", head + "<boot dev='floppy'/></os></domain>", libvirt.ErrXMLError, "XML error: Invalid value for attribute 'dev' in element 'boot': 'floppy'."},
		{"boot-without-dev", head + "<boot/></os></domain>", libvirt.ErrXMLError, "XML error: Missing required attribute 'dev' in element 'boot'"},
		{"boot-both", head + "<boot dev='hd'/></os><devices><interface type='network'><source network='default'/><boot order='1'/></interface></devices></domain>",
			libvirt.ErrConfigUnsupported, "unsupported configuration: per-device boot elements cannot be used together with os/boot elements"},
		{"boot-order-dup", head + "</os><devices><disk type='file' device='disk'><source file='/x'/><target dev='vda'/><boot order='1'/></disk><interface type='network'><source network='default'/><boot order='1'/></interface></devices></domain>",
			libvirt.ErrConfigUnsupported, "unsupported configuration: boot order '1' used for more than one device"},
		{"boot-order-bad", head + "</os><devices><interface type='network'><source network='default'/><boot order='x'/></interface></devices></domain>",
			libvirt.ErrXMLError, "XML error: Invalid value for attribute 'order' in element 'boot': 'x'. Expected non-negative integer value"},
		{"boot-order-zero", head + "</os><devices><interface type='network'><source network='default'/><boot order='0'/></interface></devices></domain>",
			libvirt.ErrXMLError, "XML error: Invalid value for attribute 'order' in element 'boot': Zero is not permitted"},
		{"bad-mac", head + "</os><devices><interface type='network'><mac address='zz:00'/><source network='default'/></interface></devices></domain>",
			libvirt.ErrXMLError, "XML error: unable to parse mac address 'zz:00'"},
		{"multicast-mac", head + "</os><devices><interface type='network'><mac address='01:00:00:00:00:01'/><source network='default'/></interface></devices></domain>",
			libvirt.ErrXMLError, "XML error: expected unicast mac address, found multicast '01:00:00:00:00:01'"},
		{"bad-uuid", "<domain type='kvm'><name>zz</name><uuid>nope</uuid><memory>1024</memory><os><type>hvm</type></os></domain>", libvirt.ErrInternalError, "internal error: malformed uuid element"},
		{"no-memory", "<domain type='kvm'><name>zz</name><os><type>hvm</type></os></domain>", libvirt.ErrXMLError, "XML error: Memory size must be specified via <memory> or in the <numa> configuration"},
		{"bad-memory", "<domain type='kvm'><name>zz</name><memory>abc</memory><os><type>hvm</type></os></domain>", libvirt.ErrXMLError, "XML error: Invalid value 'abc' for element or attribute './memory[1]'"},
		{"bad-memory-unit", "<domain type='kvm'><name>zz</name><memory unit='XB'>1</memory><os><type>hvm</type></os></domain>", libvirt.ErrInvalidArg, "invalid argument: unknown suffix 'XB'"},
		{"bad-vcpu", "<domain type='kvm'><name>zz</name><memory>1024</memory><vcpu>x</vcpu><os><type>hvm</type></os></domain>", libvirt.ErrXMLError, "XML error: maximum vcpus count must be an integer"},
		{"no-os", "<domain type='kvm'><name>zz</name><memory>1024</memory></domain>", libvirt.ErrXMLError, "XML error: an os <type> must be specified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domxml.ParseXML(tc.in)
			var te *virt.Error
			if !errors.As(err, &te) {
				t.Fatalf("ParseXML error %v (%T), want *virt.Error", err, err)
			}
			if te.Code != tc.code || te.Message() != tc.msg {
				t.Errorf("got code %d %q\nwant code %d %q", te.Code, te.Message(), tc.code, tc.msg)
			}
		})
	}
}

func TestParseXMLDetails(t *testing.T) {
	spec, err := domxml.ParseXML(`<?xml version="1.0"?>
<!-- what libvirt-python's ElementTree writes back: double quotes, few lines -->
<domain type="kvm" id="4"><name> n1 </name><uuid>f92eecf15d244fe38447ad172a3851c1</uuid>
<memory unit="GiB">2</memory><currentMemory unit="MiB">1024</currentMemory><vcpu>3</vcpu>
<os firmware="efi"><type arch="x86_64">hvm</type><boot dev="cdrom"/><boot dev="hd"/><bootmenu enable="no"/></os>
<devices><interface type="bridge"><mac address="52:54:0:A:b:C"/><source bridge="br0"/></interface>
<disk type="file" device="cdrom"><target dev="hdc" bus="ide"/></disk></devices></domain>`)
	if err != nil {
		t.Fatal(err)
	}
	want := domxml.DomainSpec{
		Name: "n1", UUID: testUUID, ID: 4, MemoryKiB: 2097152, VCPUs: 3, BootDev: "cdrom", Firmware: "efi",
		Interfaces: []domxml.Interface{{MAC: "52:54:00:0a:0b:0c", Network: "br0"}},
		Disks:      []domxml.Disk{{Device: "cdrom", Target: "hdc", Bus: "ide"}},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("\n got %+v\nwant %+v", spec, want)
	}
	for unit, kib := range map[string]uint64{"": 1000, "KiB": 1000, "k": 1000, "KB": 977, "b": 1, "bytes": 1, "M": 1024000, "MB": 976563, "G": 1048576000} {
		s, err := domxml.ParseXML("<domain type='kvm'><name>m</name><memory unit='" + unit + "'>1000</memory><os><type>hvm</type></os></domain>")
		if err != nil {
			t.Errorf("unit %q: %v", unit, err)
			continue
		}
		if s.MemoryKiB != kib {
			t.Errorf("1000 %q = %d KiB, want %d", unit, s.MemoryKiB, kib)
		}
	}
}

func TestDiff(t *testing.T) {
	base := baseSpec()
	change := func(f func(*domxml.DomainSpec)) domxml.DomainSpec {
		s := baseSpec()
		f(&s)
		return s
	}
	tests := []struct {
		name string
		new  domxml.DomainSpec
		want []string
	}{
		{"same", baseSpec(), nil},
		{"runtime only", change(func(s *domxml.DomainSpec) { s.ID = 7; s.Interfaces[0].Target = "tap0" }), nil},
		{"defaults", change(func(s *domxml.DomainSpec) {
			s.Interfaces[0].Model = ""
			s.Interfaces[0].MAC = "52:54:00:AA:BB:CC"
			s.Firmware = ""
			s.Disks[0].Bus = ""
			s.Disks[0].Device = ""
		}), nil},
		{"no uuid given", change(func(s *domxml.DomainSpec) { s.UUID = virt.UUID{} }), nil},
		{"boot", change(func(s *domxml.DomainSpec) { s.BootDev = "network" }), []string{"boot device"}},
		{"everything", domxml.DomainSpec{Name: "x", UUID: virt.UUID{1}, Description: "d", MemoryKiB: 1, VCPUs: 9, BootDev: "cdrom", Firmware: "efi"},
			[]string{"name", "uuid", "description", "memory", "vcpus", "boot device", "firmware", "interfaces", "disks"}},
		{"mac", change(func(s *domxml.DomainSpec) { s.Interfaces[0].MAC = "52:54:00:aa:bb:cd" }), []string{"interfaces"}},
		{"nic added", change(func(s *domxml.DomainSpec) {
			s.Interfaces = append(s.Interfaces, domxml.Interface{MAC: "52:54:00:00:00:09", Network: "x"})
		}), []string{"interfaces"}},
		{"disk source", change(func(s *domxml.DomainSpec) { s.Disks[0].Source = "/x" }), []string{"disks"}},
		{"memory and vcpus", change(func(s *domxml.DomainSpec) { s.MemoryKiB *= 2; s.VCPUs = 4 }), []string{"memory", "vcpus"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domxml.Diff(base, tc.new).Names(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff = %v, want %v", got, tc.want)
			}
		})
	}
	// An unknown flavor (0 vcpus) renders as 1 vcpu, and that is no change.
	zero := baseSpec()
	zero.VCPUs = 0
	if d := domxml.Diff(zero, mustParse(t, domxml.RenderXML(zero, 0))); len(d) != 0 {
		t.Errorf("0 vcpus: Diff after round trip = %v", d)
	}

	// Diff must not modify its arguments.
	a, b := baseSpec(), baseSpec()
	b.Interfaces[0].Target = "tap9"
	b.Interfaces[0].Model = ""
	domxml.Diff(a, b)
	if b.Interfaces[0].Target != "tap9" || b.Interfaces[0].Model != "" {
		t.Errorf("Diff modified its argument: %+v", b.Interfaces[0])
	}
}

func mustParse(t *testing.T, x string) domxml.DomainSpec {
	t.Helper()
	s, err := domxml.ParseXML(x)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzParseXML(f *testing.F) {
	for _, tc := range xmlCases() {
		f.Add(domxml.RenderXML(tc.spec, tc.flags))
	}
	inputs, _ := filepath.Glob("testdata/xml/input/*.xml")
	for _, p := range inputs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{"", "garbage", "<domain", "<domain type='kvm'><name>a</name></domain><x/>", "<a></b>", "<domain type='kvm'>\n<name>x</name>\n<os>\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := domxml.ParseXML(s)
		if err != nil {
			var te *virt.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *virt.Error", err)
			}
			return
		}
		// Whatever parses renders, and reads back as the same domain.
		again, err := domxml.ParseXML(domxml.RenderXML(spec, 0))
		if err != nil {
			t.Fatalf("re-parse of rendered %+v: %v", spec, err)
		}
		if d := domxml.Diff(spec, again).Names(); len(d) != 0 {
			t.Fatalf("render/parse changed %v: %+v → %+v", d, spec, again)
		}
	})
}
