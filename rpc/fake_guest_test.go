package rpc_test

import (
	"context"

	"quintupleo/driver/domain"
	"quintupleo/driver/host"
	"quintupleo/virt"
)

// The guest calls beyond lifecycle are driver/domain's and driver/host's;
// the protocol tests' fakes refuse them as a driver without them would.
// Their behaviour is tested end to end over the real drivers
// (cmd/quintupleo).

func notSupported(api string) error { return virt.NoSupport(virt.FromDomain, api) }

func (b *fakeDomains) Suspend(context.Context, virt.UUID) error {
	return notSupported("virDomainSuspend")
}
func (b *fakeDomains) Resume(context.Context, virt.UUID) error {
	return notSupported("virDomainResume")
}
func (b *fakeDomains) InjectNMI(context.Context, virt.UUID, uint32) error {
	return notSupported("virDomainInjectNMI")
}
func (b *fakeDomains) SetMetadata(context.Context, virt.UUID, int32, *string, *string, *string, uint32) error {
	return notSupported("virDomainSetMetadata")
}
func (b *fakeDomains) GetMetadata(context.Context, virt.UUID, int32, *string, uint32) (string, error) {
	return "", notSupported("virDomainGetMetadata")
}
func (b *fakeDomains) VCPUTimes(context.Context, virt.UUID) ([]uint64, error) {
	return nil, notSupported("virDomainGetVcpus")
}
func (b *fakeDomains) InterfaceAddresses(context.Context, virt.UUID, uint32, uint32) ([]domain.Interface, error) {
	return nil, notSupported("virDomainInterfaceAddresses")
}

func (fakeHost) FreeMemory(context.Context) (uint64, error) { return 8 << 30, nil }
func (fakeHost) CellsFreeMemory(context.Context, int32, int32) ([]uint64, error) {
	return []uint64{8 << 30}, nil
}
func (fakeHost) MemoryStats(context.Context, int32, uint32) ([]host.MemoryStat, error) {
	return []host.MemoryStat{{Field: "total", Value: 16777216}, {Field: "free", Value: 8 << 20}}, nil
}
func (fakeHost) Sysinfo(context.Context, uint32) (string, error) {
	return "<sysinfo type='smbios'>\n</sysinfo>\n", nil
}
func (fakeHost) DomainCapabilities(context.Context, string, string, string, string, uint32) (string, error) {
	return "", notSupported("virConnectGetDomainCapabilities")
}
