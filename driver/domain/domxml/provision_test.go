package domxml

import (
	"slices"
	"strings"
	"testing"

	"quintupleo/virt"
)

func TestParseNewReadsWhatACreationNeeds(t *testing.T) {
	xml := `<domain type='kvm'><name>bm</name><memory unit='MiB'>4097</memory><vcpu>2</vcpu>
<cpu mode='host-passthrough'/><os><type>hvm</type><boot dev='network'/><bootmenu enable='no'/></os><clock offset='utc'/>
<devices><emulator>/usr/bin/kvm</emulator>
<disk type='volume' device='disk'><source pool='default' volume='bm.qcow2'/><target dev='vda'/></disk>
<disk type='file' device='cdrom'><target dev='hdc'/></disk>
<interface type='network'><mac address='00:7D:AB:00:00:01'/><source network='brbm'/><model type='e1000'/></interface>
<interface type='bridge'><source bridge='br-ctlplane'/><virtualport type='openvswitch'/></interface>
<interface type='user'/>
<graphics type='vnc' port='-1'/></devices></domain>`
	nd, err := ParseNew(xml)
	if err != nil {
		t.Fatal(err)
	}
	want := []NewInterface{{MAC: "00:7d:ab:00:00:01", Source: "brbm", Model: "e1000"}, {Source: "br-ctlplane"}, {}}
	if !slices.Equal(nd.Interfaces, want) {
		t.Errorf("interfaces %+v, want %+v", nd.Interfaces, want)
	}
	if nd.MemoryMiB() != 4097 || nd.Spec.VCPUs != 2 || nd.Spec.BootDev != BootNetwork {
		t.Errorf("memory %d MiB, vcpus %d, boot %s", nd.MemoryMiB(), nd.Spec.VCPUs, nd.Spec.BootDev)
	}
	if got := nd.IgnoredList(); got != "clock,cpu,devices/emulator,devices/graphics" {
		t.Errorf("ignored %q", got)
	}
}

func TestParseNewRefusesWhatTheCloudCannotGive(t *testing.T) {
	base := func(devices, boot string) string {
		return `<domain type='kvm'><name>bm</name><memory>1024</memory><os><type>hvm</type>` + boot + `</os><devices>` + devices + `</devices></domain>`
	}
	for _, c := range []struct{ xml, want string }{
		{base(`<interface type='direct'><source dev='eth0' mode='bridge'/></interface>`, ""), "unsupported configuration: interface type 'direct' is not supported by this cloud"},
		{base(`<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>`, ""), "unsupported configuration: host device passthrough (<hostdev>) is not supported by this cloud"},
		{base(`<disk type='file' device='disk'><target dev='vda'/></disk><disk type='file' device='disk'><target dev='vdb'/></disk>`, ""), "unsupported configuration: a cloud server has one disk; this domain has 2"},
		{base("", "<boot dev='cdrom'/>"), "unsupported configuration: boot device 'cdrom' is not supported by this cloud"},
		{base(`<interface type='network'><mac address='01:00:00:00:00:01'/></interface>`, ""), "XML error: expected unicast mac address, found multicast '01:00:00:00:00:01'"},
	} {
		_, err := ParseNew(c.xml)
		e, ok := virt.As(err)
		if !ok || !strings.Contains(e.Message(), c.want) {
			t.Errorf("ParseNew(%s) = %v, want %s", c.xml, err, c.want)
		}
	}
}
