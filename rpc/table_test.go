package rpc

import (
	"testing"

	"quintupleo/virt"
)

func TestProcedureTableNames(t *testing.T) {
	for num, p := range procedures {
		if procNames[num] != p.name {
			t.Errorf("procedure %d: row name %q, generated name %q", num, p.name, procNames[num])
		}
		if p.call == nil {
			t.Errorf("procedure %d (%s): no handler", num, p.name)
		}
		if api := procAPIs[num]; p.readOnly != readOnlyAPIs[api.name] {
			t.Errorf("procedure %d (%s): row allows read-only %v, libvirt's %s %v (readonly.go)", num, p.name, p.readOnly, api.name, readOnlyAPIs[api.name])
		}
		if p.preOpen && !p.readOnly {
			t.Errorf("procedure %d (%s): allowed before open but not read-only", num, p.name)
		}
	}
}

// TestAPINames checks the generated API names and error domains against
// libvirt's own (libvirt_public.syms; the NO_SUPPORT answers of a real
// libvirtd 9.0), where camel-casing the procedure name would get them wrong.
func TestAPINames(t *testing.T) {
	for proc, want := range map[uint32]procAPI{
		ProcDomainCreate:                      {"virDomainCreate", virt.FromDomain},
		ProcDomainDefineXMLFlags:              {"virDomainDefineXMLFlags", virt.FromDomain},
		ProcDomainLookupByUUID:                {"virDomainLookupByUUID", virt.FromDomain},
		ProcDomainLookupByID:                  {"virDomainLookupByID", virt.FromDomain},
		ProcConnectGetUri:                     {"virConnectGetURI", virt.FromDomain},
		ProcDomainGetOsType:                   {"virDomainGetOSType", virt.FromDomain},
		ProcDomainInjectNmi:                   {"virDomainInjectNMI", virt.FromDomain},
		ProcNodeGetCPUStats:                   {"virNodeGetCPUStats", virt.FromDomain},
		ProcNodeGetSevInfo:                    {"virNodeGetSEVInfo", virt.FromDomain},
		ProcDomainGetFsinfo:                   {"virDomainGetFSInfo", virt.FromDomain},
		ProcDomainGetIothreadInfo:             {"virDomainGetIOThreadInfo", virt.FromDomain},
		ProcDomainGetBlockIOTune:              {"virDomainGetBlockIoTune", virt.FromDomain},
		ProcDomainOpenGraphicsFd:              {"virDomainOpenGraphicsFD", virt.FromDomain},
		ProcDomainPmSuspendForDuration:        {"virDomainPMSuspendForDuration", virt.FromDomain},
		ProcDomainAuthorizedSshKeysGet:        {"virDomainAuthorizedSSHKeysGet", virt.FromDomain},
		ProcDomainBackupGetXMLDesc:            {"virDomainBackupGetXMLDesc", virt.FromDomain},
		ProcConnectNumOfNetworks:              {"virConnectNumOfNetworks", virt.FromNetwork},
		ProcConnectListAllNetworks:            {"virConnectListAllNetworks", virt.FromNetwork},
		ProcNetworkGetDhcpLeases:              {"virNetworkGetDHCPLeases", virt.FromNetwork},
		ProcNetworkListAllPorts:               {"virNetworkListAllPorts", virt.FromNetwork},
		ProcConnectGetStoragePoolCapabilities: {"virConnectGetStoragePoolCapabilities", virt.FromStorage},
		ProcStorageVolCreateXMLFrom:           {"virStorageVolCreateXMLFrom", virt.FromStorage},
		ProcConnectNumOfNwfilters:             {"virConnectNumOfNWFilters", virt.FromNWFilter},
		ProcConnectListAllNwfilters:           {"virConnectListAllNWFilters", virt.FromNWFilter},
		ProcInterfaceLookupByMacString:        {"virInterfaceLookupByMACString", virt.FromInterface},
		ProcNodeDeviceLookupScsiHostByWwn:     {"virNodeDeviceLookupSCSIHostByWWN", virt.FromNodeDev},
		ProcNodeNumOfDevices:                  {"virNodeNumOfDevices", virt.FromNodeDev},
		ProcConnectNumOfSecrets:               {"virConnectNumOfSecrets", virt.FromSecret},
		ProcDomainSnapshotNum:                 {"virDomainSnapshotNum", virt.FromDomainSnapshot},
		ProcDomainInterfaceAddresses:          {"virDomainInterfaceAddresses", virt.FromDomain},
	} {
		if got := procAPIs[proc]; got != want {
			t.Errorf("procedure %d (%s): %+v, want %+v", proc, procNames[proc], got, want)
		}
	}
	if len(procAPIs) != len(procNames) {
		t.Errorf("%d API names for %d procedures", len(procAPIs), len(procNames))
	}
}

func TestDecodeConnectOpen(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		wantName string
		wantFlag uint32
		wantErr  bool
	}{
		{"absent name", []byte{0, 0, 0, 0, 0, 0, 0, 1}, "", 1, false},
		// go-libvirt's client writes the "present" word as 01 00 00 00.
		{"go-libvirt present word", []byte{1, 0, 0, 0, 0, 0, 0, 2, 'q', 'x', 0, 0, 0, 0, 0, 0}, "qx", 0, false},
		{"name longer than body", []byte{0, 0, 0, 1, 0, 0, 0, 9, 'a'}, "", 0, true},
		{"missing flags", []byte{0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0}, "", 0, true},
		{"empty", nil, "", 0, true},
	}
	for _, tt := range tests {
		name, flags, err := decodeConnectOpen(tt.body)
		if (err != nil) != tt.wantErr || name != tt.wantName || flags != tt.wantFlag {
			t.Errorf("%s: got %q %d %v", tt.name, name, flags, err)
		}
	}
}

func TestAcceptURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "qemu:///system",
		"qemu:///system":          "qemu:///system",
		"qemu:///session":         "qemu:///session",
		"qemu:///session?foo=bar": "qemu:///session?foo=bar",
	} {
		if got, err := acceptURI(in); err != nil || got != want {
			t.Errorf("acceptURI(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"xen:///system", "test:///default", "qemu:///foo", "::bad"} {
		if _, err := acceptURI(in); err == nil {
			t.Errorf("acceptURI(%q) accepted", in)
		}
	}
}
