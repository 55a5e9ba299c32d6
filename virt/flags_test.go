package virt

import (
	"testing"

	"github.com/digitalocean/go-libvirt"
)

// TestFlagsAreLibvirts holds virt's flag and enum values to go-libvirt's,
// which are generated from libvirt's own headers: a value that drifted
// would make a driver accept or refuse the wrong bit. (virt itself may not
// name go-libvirt's constants, TestLayering in cmd/quintupleo; a test may.)
func TestFlagsAreLibvirts(t *testing.T) {
	tests := []struct {
		name      string
		got, want int64
	}{
		{"StartPaused", int64(StartPaused), int64(libvirt.DomainStartPaused)},
		{"StartAutodestroy", int64(StartAutodestroy), int64(libvirt.DomainStartAutodestroy)},
		{"StartBypassCache", int64(StartBypassCache), int64(libvirt.DomainStartBypassCache)},
		{"StartForceBoot", int64(StartForceBoot), int64(libvirt.DomainStartForceBoot)},
		{"StartValidate", int64(StartValidate), int64(libvirt.DomainStartValidate)},
		{"StartResetNVRAM", int64(StartResetNVRAM), int64(libvirt.DomainStartResetNvram)},

		{"UndefineManagedSave", int64(UndefineManagedSave), int64(libvirt.DomainUndefineManagedSave)},
		{"UndefineSnapshotsMetadata", int64(UndefineSnapshotsMetadata), int64(libvirt.DomainUndefineSnapshotsMetadata)},
		{"UndefineNVRAM", int64(UndefineNVRAM), int64(libvirt.DomainUndefineNvram)},
		{"UndefineKeepNVRAM", int64(UndefineKeepNVRAM), int64(libvirt.DomainUndefineKeepNvram)},
		{"UndefineCheckpointsMetadata", int64(UndefineCheckpointsMetadata), int64(libvirt.DomainUndefineCheckpointsMetadata)},
		{"UndefineTPM", int64(UndefineTPM), int64(libvirt.DomainUndefineTpm)},
		{"UndefineKeepTPM", int64(UndefineKeepTPM), int64(libvirt.DomainUndefineKeepTpm)},

		{"AffectCurrent", int64(AffectCurrent), int64(libvirt.DomainAffectCurrent)},
		{"AffectLive", int64(AffectLive), int64(libvirt.DomainAffectLive)},
		{"AffectConfig", int64(AffectConfig), int64(libvirt.DomainAffectConfig)},

		{"MetadataDescription", int64(MetadataDescription), int64(libvirt.DomainMetadataDescription)},
		{"MetadataTitle", int64(MetadataTitle), int64(libvirt.DomainMetadataTitle)},
		{"MetadataElement", int64(MetadataElement), int64(libvirt.DomainMetadataElement)},

		{"AddrSourceLease", int64(AddrSourceLease), int64(libvirt.DomainInterfaceAddressesSrcLease)},
		{"AddrSourceAgent", int64(AddrSourceAgent), int64(libvirt.DomainInterfaceAddressesSrcAgent)},
		{"AddrSourceARP", int64(AddrSourceARP), int64(libvirt.DomainInterfaceAddressesSrcArp)},

		{"XMLSecure", int64(XMLSecure), int64(libvirt.DomainXMLSecure)},
		{"XMLInactive", int64(XMLInactive), int64(libvirt.DomainXMLInactive)},
		{"XMLUpdateCPU", int64(XMLUpdateCPU), int64(libvirt.DomainXMLUpdateCPU)},
		{"XMLMigratable", int64(XMLMigratable), int64(libvirt.DomainXMLMigratable)},

		{"ListActive", int64(ListActive), int64(libvirt.ConnectListDomainsActive)},
		{"ListInactive", int64(ListInactive), int64(libvirt.ConnectListDomainsInactive)},
		{"ListPersistent", int64(ListPersistent), int64(libvirt.ConnectListDomainsPersistent)},
		{"ListTransient", int64(ListTransient), int64(libvirt.ConnectListDomainsTransient)},
		{"ListRunning", int64(ListRunning), int64(libvirt.ConnectListDomainsRunning)},
		{"ListPaused", int64(ListPaused), int64(libvirt.ConnectListDomainsPaused)},
		{"ListShutoff", int64(ListShutoff), int64(libvirt.ConnectListDomainsShutoff)},
		{"ListOther", int64(ListOther), int64(libvirt.ConnectListDomainsOther)},
		{"ListManagedSave", int64(ListManagedSave), int64(libvirt.ConnectListDomainsManagedsave)},
		{"ListNoManagedSave", int64(ListNoManagedSave), int64(libvirt.ConnectListDomainsNoManagedsave)},
		{"ListAutostart", int64(ListAutostart), int64(libvirt.ConnectListDomainsAutostart)},
		{"ListNoAutostart", int64(ListNoAutostart), int64(libvirt.ConnectListDomainsNoAutostart)},
		{"ListHasSnapshot", int64(ListHasSnapshot), int64(libvirt.ConnectListDomainsHasSnapshot)},
		{"ListNoSnapshot", int64(ListNoSnapshot), int64(libvirt.ConnectListDomainsNoSnapshot)},
		{"ListHasCheckpoint", int64(ListHasCheckpoint), int64(libvirt.ConnectListDomainsHasCheckpoint)},
		{"ListNoCheckpoint", int64(ListNoCheckpoint), int64(libvirt.ConnectListDomainsNoCheckpoint)},

		{"NetListInactive", int64(NetListInactive), int64(libvirt.ConnectListNetworksInactive)},
		{"NetListActive", int64(NetListActive), int64(libvirt.ConnectListNetworksActive)},
		{"NetListPersistent", int64(NetListPersistent), int64(libvirt.ConnectListNetworksPersistent)},
		{"NetListTransient", int64(NetListTransient), int64(libvirt.ConnectListNetworksTransient)},
		{"NetListAutostart", int64(NetListAutostart), int64(libvirt.ConnectListNetworksAutostart)},
		{"NetListNoAutostart", int64(NetListNoAutostart), int64(libvirt.ConnectListNetworksNoAutostart)},

		{"PoolListInactive", int64(PoolListInactive), int64(libvirt.ConnectListStoragePoolsInactive)},
		{"PoolListActive", int64(PoolListActive), int64(libvirt.ConnectListStoragePoolsActive)},
		{"PoolListPersistent", int64(PoolListPersistent), int64(libvirt.ConnectListStoragePoolsPersistent)},
		{"PoolListTransient", int64(PoolListTransient), int64(libvirt.ConnectListStoragePoolsTransient)},
		{"PoolListAutostart", int64(PoolListAutostart), int64(libvirt.ConnectListStoragePoolsAutostart)},
		{"PoolListNoAutostart", int64(PoolListNoAutostart), int64(libvirt.ConnectListStoragePoolsNoAutostart)},
		{"PoolListDir", int64(PoolListDir), int64(libvirt.ConnectListStoragePoolsDir)},
		{"PoolListFS", int64(PoolListFS), int64(libvirt.ConnectListStoragePoolsFs)},
		{"PoolListNetFS", int64(PoolListNetFS), int64(libvirt.ConnectListStoragePoolsNetfs)},
		{"PoolListLogical", int64(PoolListLogical), int64(libvirt.ConnectListStoragePoolsLogical)},
		{"PoolListDisk", int64(PoolListDisk), int64(libvirt.ConnectListStoragePoolsDisk)},
		{"PoolListISCSI", int64(PoolListISCSI), int64(libvirt.ConnectListStoragePoolsIscsi)},
		{"PoolListSCSI", int64(PoolListSCSI), int64(libvirt.ConnectListStoragePoolsScsi)},
		{"PoolListMpath", int64(PoolListMpath), int64(libvirt.ConnectListStoragePoolsMpath)},
		{"PoolListRBD", int64(PoolListRBD), int64(libvirt.ConnectListStoragePoolsRbd)},
		{"PoolListSheepdog", int64(PoolListSheepdog), int64(libvirt.ConnectListStoragePoolsSheepdog)},
		{"PoolListGluster", int64(PoolListGluster), int64(libvirt.ConnectListStoragePoolsGluster)},
		{"PoolListZFS", int64(PoolListZFS), int64(libvirt.ConnectListStoragePoolsZfs)},
		{"PoolListVstorage", int64(PoolListVstorage), int64(libvirt.ConnectListStoragePoolsVstorage)},
		{"PoolListISCSIDirect", int64(PoolListISCSIDirect), int64(libvirt.ConnectListStoragePoolsIscsiDirect)},

		{"PoolInactive", int64(PoolInactive), int64(libvirt.StoragePoolInactive)},
		{"PoolBuilding", int64(PoolBuilding), int64(libvirt.StoragePoolBuilding)},
		{"PoolRunning", int64(PoolRunning), int64(libvirt.StoragePoolRunning)},
		{"PoolDegraded", int64(PoolDegraded), int64(libvirt.StoragePoolDegraded)},
		{"PoolInaccessible", int64(PoolInaccessible), int64(libvirt.StoragePoolInaccessible)},

		{"VolCreatePreallocMetadata", int64(VolCreatePreallocMetadata), int64(libvirt.StorageVolCreatePreallocMetadata)},
		{"VolCreateReflink", int64(VolCreateReflink), int64(libvirt.StorageVolCreateReflink)},
		{"VolCreateValidate", int64(VolCreateValidate), int64(libvirt.StorageVolCreateValidate)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, libvirt's is %#x", tt.name, tt.got, tt.want)
		}
	}
}

// TestPoolListTypes: the type mask is every pool type bit and nothing else
// (libvirt's VIR_CONNECT_LIST_STORAGE_POOLS_FILTERS_POOL_TYPE).
func TestPoolListTypes(t *testing.T) {
	var want StoragePoolListFlags
	for b := PoolListDir; b <= PoolListISCSIDirect; b <<= 1 {
		want |= b
	}
	if PoolListTypes != want || PoolListTypes&(PoolListDir-1) != 0 {
		t.Errorf("PoolListTypes = %#x, want %#x", PoolListTypes, want)
	}
}
