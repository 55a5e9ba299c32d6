package rpc

import (
	"context"

	"quintupleo/virt"
)

// family is the libvirt object family whose driver serves a procedure
// (libvirt's per-family driver tables, src/driver-*.h).
type family uint8

const (
	familyConnect family = iota // the connection itself: served by rpc, no driver
	familyHost                  // Drivers.Host
	familyDomain                // Drivers.Domains
	familyNetwork               // Drivers.Networks
	familyStorage               // Drivers.Storage
)

// procedure is one row of the dispatch table: what the dispatcher must check
// before the handler runs, and the handler itself.
type procedure struct {
	name     string // REMOTE_PROC_ suffix, for logs (checked against procNames by a test)
	family   family // whose driver answers; a nil driver answers VIR_ERR_NO_SUPPORT
	readOnly bool   // allowed on a read-only connection
	preOpen  bool   // allowed before CONNECT_OPEN
	closes   bool   // the connection ends once the reply is written (CONNECT_CLOSE)
	call     func(ctx context.Context, c *conn, body []byte) (any, error)
}

// handlerFunc is the body-level form of a handler: it returns the value to
// encode as the reply body (nil for an empty body).
type handlerFunc = func(ctx context.Context, c *conn, body []byte) (any, error)

// typed adapts a handler taking go-libvirt's generated Args struct and
// returning its Ret struct. struct{} stands for an empty Args or Ret; a nil
// *R is an empty reply body. Decoding failures, trailing bytes after the
// arguments among them (decode rejects them), become libvirtd's "Unable to
// decode message payload".
func typed[A, R any](f func(ctx context.Context, c *conn, a *A) (*R, error)) handlerFunc {
	return func(ctx context.Context, c *conn, body []byte) (any, error) {
		var a A
		if err := decode(body, &a); err != nil {
			return nil, errDecode(err)
		}
		noteDomain(ctx, &a)
		r, err := f(ctx, c, &a)
		if err != nil {
			return nil, withArgDomain(err, &a)
		}
		if r == nil {
			return nil, nil
		}
		return r, nil
	}
}

// none is the empty Args/Ret.
type none = struct{}

// procedures is the whole protocol surface this server implements, each row
// naming its family. Any other procedure of the protocol is answered as
// libvirtd answers a function its drivers lack (VIR_ERR_NO_SUPPORT naming the
// API); a number not in the protocol gets libvirt's "unknown procedure". It
// is never modified after package initialisation.
var procedures = map[uint32]procedure{
	// Connection (h_connect.go).
	ProcAuthList:                       {name: "AUTH_LIST", readOnly: true, preOpen: true, call: typed(authList)},
	ProcConnectSupportsFeature:         {name: "CONNECT_SUPPORTS_FEATURE", readOnly: true, preOpen: true, call: typed(connectSupportsFeature)},
	ProcConnectOpen:                    {name: "CONNECT_OPEN", readOnly: true, preOpen: true, call: connectOpen},
	ProcConnectClose:                   {name: "CONNECT_CLOSE", readOnly: true, closes: true, call: typed(connectClose)},
	ProcConnectRegisterCloseCallback:   {name: "CONNECT_REGISTER_CLOSE_CALLBACK", readOnly: true, call: typed(connectRegisterCloseCallback)},
	ProcConnectUnregisterCloseCallback: {name: "CONNECT_UNREGISTER_CLOSE_CALLBACK", readOnly: true, call: typed(connectUnregisterCloseCallback)},
	ProcConnectGetType:                 {name: "CONNECT_GET_TYPE", family: familyHost, readOnly: true, call: typed(connectGetType)},
	ProcConnectGetVersion:              {name: "CONNECT_GET_VERSION", family: familyHost, readOnly: true, call: typed(connectGetVersion)},
	ProcConnectGetLibVersion:           {name: "CONNECT_GET_LIB_VERSION", family: familyHost, readOnly: true, call: typed(connectGetLibVersion)},
	ProcConnectGetHostname:             {name: "CONNECT_GET_HOSTNAME", family: familyHost, readOnly: true, call: typed(connectGetHostname)},
	ProcConnectGetUri:                  {name: "CONNECT_GET_URI", readOnly: true, call: typed(connectGetURI)},
	ProcConnectGetCapabilities:         {name: "CONNECT_GET_CAPABILITIES", family: familyHost, readOnly: true, call: typed(connectGetCapabilities)},
	ProcConnectGetMaxVcpus:             {name: "CONNECT_GET_MAX_VCPUS", family: familyHost, readOnly: true, call: typed(connectGetMaxVcpus)},
	ProcConnectIsSecure:                {name: "CONNECT_IS_SECURE", readOnly: true, call: typed(connectIsSecure)},
	ProcConnectListAllDomains:          {name: "CONNECT_LIST_ALL_DOMAINS", family: familyDomain, readOnly: true, call: connectListAllDomains},
	ProcConnectNumOfDomains:            {name: "CONNECT_NUM_OF_DOMAINS", family: familyDomain, readOnly: true, call: typed(connectNumOfDomains)},
	ProcConnectListDomains:             {name: "CONNECT_LIST_DOMAINS", family: familyDomain, readOnly: true, call: typed(connectListDomains)},
	ProcConnectNumOfDefinedDomains:     {name: "CONNECT_NUM_OF_DEFINED_DOMAINS", family: familyDomain, readOnly: true, call: typed(connectNumOfDefinedDomains)},
	ProcConnectListDefinedDomains:      {name: "CONNECT_LIST_DEFINED_DOMAINS", family: familyDomain, readOnly: true, call: typed(connectListDefinedDomains)},

	// Node (h_node.go).
	ProcNodeGetInfo:          {name: "NODE_GET_INFO", family: familyHost, readOnly: true, call: typed(nodeGetInfo)},
	ProcNodeGetCPUMap:        {name: "NODE_GET_CPU_MAP", family: familyHost, readOnly: true, call: typed(nodeGetCPUMap)},
	ProcNodeGetSecurityModel: {name: "NODE_GET_SECURITY_MODEL", family: familyHost, readOnly: true, call: typed(nodeGetSecurityModel)},

	// Domain lookups and facts (h_domain.go).
	ProcDomainLookupByName:        {name: "DOMAIN_LOOKUP_BY_NAME", family: familyDomain, readOnly: true, call: typed(domainLookupByName)},
	ProcDomainLookupByUUID:        {name: "DOMAIN_LOOKUP_BY_UUID", family: familyDomain, readOnly: true, call: typed(domainLookupByUUID)},
	ProcDomainLookupByID:          {name: "DOMAIN_LOOKUP_BY_ID", family: familyDomain, readOnly: true, call: typed(domainLookupByID)},
	ProcDomainGetState:            {name: "DOMAIN_GET_STATE", family: familyDomain, readOnly: true, call: typed(domainGetState)},
	ProcDomainGetInfo:             {name: "DOMAIN_GET_INFO", family: familyDomain, readOnly: true, call: typed(domainGetInfo)},
	ProcDomainGetOsType:           {name: "DOMAIN_GET_OS_TYPE", family: familyDomain, readOnly: true, call: typed(domainGetOSType)},
	ProcDomainIsActive:            {name: "DOMAIN_IS_ACTIVE", family: familyDomain, readOnly: true, call: typed(domainIsActive)},
	ProcDomainIsPersistent:        {name: "DOMAIN_IS_PERSISTENT", family: familyDomain, readOnly: true, call: typed(domainIsPersistent)},
	ProcDomainIsUpdated:           {name: "DOMAIN_IS_UPDATED", family: familyDomain, readOnly: true, call: typed(domainIsUpdated)},
	ProcDomainGetAutostart:        {name: "DOMAIN_GET_AUTOSTART", family: familyDomain, readOnly: true, call: typed(domainGetAutostart)},
	ProcDomainHasManagedSaveImage: {name: "DOMAIN_HAS_MANAGED_SAVE_IMAGE", family: familyDomain, readOnly: true, call: typed(domainHasManagedSaveImage)},
	ProcDomainGetXMLDesc:          {name: "DOMAIN_GET_XML_DESC", family: familyDomain, readOnly: true, call: typed(domainGetXMLDesc)},
	ProcDomainGetSecurityLabel:    {name: "DOMAIN_GET_SECURITY_LABEL", family: familyDomain, readOnly: true, call: typed(domainGetSecurityLabel)},
	ProcDomainGetMessages:         {name: "DOMAIN_GET_MESSAGES", family: familyDomain, readOnly: true, call: typed(domainGetMessages)},
	ProcDomainGetMaxMemory:        {name: "DOMAIN_GET_MAX_MEMORY", family: familyDomain, readOnly: true, call: typed(domainGetMaxMemory)},
	ProcDomainGetMaxVcpus:         {name: "DOMAIN_GET_MAX_VCPUS", family: familyDomain, readOnly: true, call: typed(domainGetMaxVcpus)},
	ProcDomainGetVcpusFlags:       {name: "DOMAIN_GET_VCPUS_FLAGS", family: familyDomain, readOnly: true, call: typed(domainGetVcpusFlags)},
	ProcDomainGetVcpus:            {name: "DOMAIN_GET_VCPUS", family: familyDomain, readOnly: true, call: typed(domainGetVcpus)},
	ProcDomainSnapshotNum:         {name: "DOMAIN_SNAPSHOT_NUM", family: familyDomain, readOnly: true, call: typed(domainSnapshotNum)},

	// Domain changes (h_domain.go): refused on read-only connections.
	ProcDomainCreate:          {name: "DOMAIN_CREATE", family: familyDomain, call: typed(domainCreate)},
	ProcDomainCreateWithFlags: {name: "DOMAIN_CREATE_WITH_FLAGS", family: familyDomain, call: typed(domainCreateWithFlags)},
	ProcDomainDestroy:         {name: "DOMAIN_DESTROY", family: familyDomain, call: typed(domainDestroy)},
	ProcDomainDestroyFlags:    {name: "DOMAIN_DESTROY_FLAGS", family: familyDomain, call: typed(domainDestroyFlags)},
	ProcDomainShutdown:        {name: "DOMAIN_SHUTDOWN", family: familyDomain, call: typed(domainShutdown)},
	ProcDomainShutdownFlags:   {name: "DOMAIN_SHUTDOWN_FLAGS", family: familyDomain, call: typed(domainShutdownFlags)},
	ProcDomainReboot:          {name: "DOMAIN_REBOOT", family: familyDomain, call: typed(domainReboot)},
	ProcDomainReset:           {name: "DOMAIN_RESET", family: familyDomain, call: typed(domainReset)},
	ProcDomainSetAutostart:    {name: "DOMAIN_SET_AUTOSTART", family: familyDomain, call: typed(domainSetAutostart)},
	ProcDomainCreateXML:       {name: "DOMAIN_CREATE_XML", family: familyDomain, call: typed(domainCreateXML)},
	ProcDomainDefineXML:       {name: "DOMAIN_DEFINE_XML", family: familyDomain, call: typed(domainDefineXML)},
	ProcDomainDefineXMLFlags:  {name: "DOMAIN_DEFINE_XML_FLAGS", family: familyDomain, call: typed(domainDefineXMLFlags)},
	ProcDomainUndefine:        {name: "DOMAIN_UNDEFINE", family: familyDomain, call: typed(domainUndefine)},
	ProcDomainUndefineFlags:   {name: "DOMAIN_UNDEFINE_FLAGS", family: familyDomain, call: typed(domainUndefineFlags)},

	// Networks (h_network.go).
	ProcConnectListAllNetworks:           {name: "CONNECT_LIST_ALL_NETWORKS", family: familyNetwork, readOnly: true, call: typed(connectListAllNetworks)},
	ProcConnectNumOfNetworks:             {name: "CONNECT_NUM_OF_NETWORKS", family: familyNetwork, readOnly: true, call: typed(connectNumOfNetworks)},
	ProcConnectListNetworks:              {name: "CONNECT_LIST_NETWORKS", family: familyNetwork, readOnly: true, call: typed(connectListNetworks)},
	ProcConnectNumOfDefinedNetworks:      {name: "CONNECT_NUM_OF_DEFINED_NETWORKS", family: familyNetwork, readOnly: true, call: typed(connectNumOfDefinedNetworks)},
	ProcConnectListDefinedNetworks:       {name: "CONNECT_LIST_DEFINED_NETWORKS", family: familyNetwork, readOnly: true, call: typed(connectListDefinedNetworks)},
	ProcNetworkLookupByName:              {name: "NETWORK_LOOKUP_BY_NAME", family: familyNetwork, readOnly: true, call: typed(networkLookupByName)},
	ProcNetworkLookupByUUID:              {name: "NETWORK_LOOKUP_BY_UUID", family: familyNetwork, readOnly: true, call: typed(networkLookupByUUID)},
	ProcNetworkIsActive:                  {name: "NETWORK_IS_ACTIVE", family: familyNetwork, readOnly: true, call: typed(networkIsActive)},
	ProcNetworkIsPersistent:              {name: "NETWORK_IS_PERSISTENT", family: familyNetwork, readOnly: true, call: typed(networkIsPersistent)},
	ProcNetworkGetAutostart:              {name: "NETWORK_GET_AUTOSTART", family: familyNetwork, readOnly: true, call: typed(networkGetAutostart)},
	ProcNetworkGetXMLDesc:                {name: "NETWORK_GET_XML_DESC", family: familyNetwork, readOnly: true, call: typed(networkGetXMLDesc)},
	ProcNetworkGetBridgeName:             {name: "NETWORK_GET_BRIDGE_NAME", family: familyNetwork, readOnly: true, call: typed(networkGetBridgeName)},
	ProcNetworkGetDhcpLeases:             {name: "NETWORK_GET_DHCP_LEASES", family: familyNetwork, readOnly: true, call: typed(networkGetDhcpLeases)},
	ProcNetworkDefineXML:                 {name: "NETWORK_DEFINE_XML", family: familyNetwork, call: typed(networkDefineXML)},
	ProcNetworkDefineXMLFlags:            {name: "NETWORK_DEFINE_XML_FLAGS", family: familyNetwork, call: typed(networkDefineXMLFlags)},
	ProcNetworkCreateXML:                 {name: "NETWORK_CREATE_XML", family: familyNetwork, call: typed(networkCreateXML)},
	ProcNetworkCreateXMLFlags:            {name: "NETWORK_CREATE_XML_FLAGS", family: familyNetwork, call: typed(networkCreateXMLFlags)},
	ProcNetworkCreate:                    {name: "NETWORK_CREATE", family: familyNetwork, call: typed(networkCreate)},
	ProcNetworkDestroy:                   {name: "NETWORK_DESTROY", family: familyNetwork, call: typed(networkDestroy)},
	ProcNetworkUndefine:                  {name: "NETWORK_UNDEFINE", family: familyNetwork, call: typed(networkUndefine)},
	ProcNetworkSetAutostart:              {name: "NETWORK_SET_AUTOSTART", family: familyNetwork, call: typed(networkSetAutostart)},
	ProcConnectNetworkEventRegisterAny:   {name: "CONNECT_NETWORK_EVENT_REGISTER_ANY", family: familyNetwork, readOnly: true, call: typed(connectNetworkEventRegisterAny)},
	ProcConnectNetworkEventDeregisterAny: {name: "CONNECT_NETWORK_EVENT_DEREGISTER_ANY", family: familyNetwork, readOnly: true, call: typed(connectNetworkEventDeregisterAny)},
	// Storage pools and volumes (h_storage.go).
	ProcConnectListAllStoragePools:      {name: "CONNECT_LIST_ALL_STORAGE_POOLS", family: familyStorage, readOnly: true, call: typed(connectListAllStoragePools)},
	ProcConnectNumOfStoragePools:        {name: "CONNECT_NUM_OF_STORAGE_POOLS", family: familyStorage, readOnly: true, call: typed(connectNumOfStoragePools)},
	ProcConnectListStoragePools:         {name: "CONNECT_LIST_STORAGE_POOLS", family: familyStorage, readOnly: true, call: typed(connectListStoragePools)},
	ProcConnectNumOfDefinedStoragePools: {name: "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", family: familyStorage, readOnly: true, call: typed(connectNumOfDefinedStoragePools)},
	ProcConnectListDefinedStoragePools:  {name: "CONNECT_LIST_DEFINED_STORAGE_POOLS", family: familyStorage, readOnly: true, call: typed(connectListDefinedStoragePools)},
	ProcStoragePoolLookupByName:         {name: "STORAGE_POOL_LOOKUP_BY_NAME", family: familyStorage, readOnly: true, call: typed(storagePoolLookupByName)},
	ProcStoragePoolLookupByUUID:         {name: "STORAGE_POOL_LOOKUP_BY_UUID", family: familyStorage, readOnly: true, call: typed(storagePoolLookupByUUID)},
	ProcStoragePoolLookupByVolume:       {name: "STORAGE_POOL_LOOKUP_BY_VOLUME", family: familyStorage, readOnly: true, call: typed(storagePoolLookupByVolume)},
	ProcStoragePoolLookupByTargetPath:   {name: "STORAGE_POOL_LOOKUP_BY_TARGET_PATH", family: familyStorage, readOnly: true, call: typed(storagePoolLookupByTargetPath)},
	ProcStoragePoolGetInfo:              {name: "STORAGE_POOL_GET_INFO", family: familyStorage, readOnly: true, call: typed(storagePoolGetInfo)},
	ProcStoragePoolGetXMLDesc:           {name: "STORAGE_POOL_GET_XML_DESC", family: familyStorage, readOnly: true, call: typed(storagePoolGetXMLDesc)},
	ProcStoragePoolGetAutostart:         {name: "STORAGE_POOL_GET_AUTOSTART", family: familyStorage, readOnly: true, call: typed(storagePoolGetAutostart)},
	ProcStoragePoolIsActive:             {name: "STORAGE_POOL_IS_ACTIVE", family: familyStorage, readOnly: true, call: typed(storagePoolIsActive)},
	ProcStoragePoolIsPersistent:         {name: "STORAGE_POOL_IS_PERSISTENT", family: familyStorage, readOnly: true, call: typed(storagePoolIsPersistent)},
	ProcStoragePoolNumOfVolumes:         {name: "STORAGE_POOL_NUM_OF_VOLUMES", family: familyStorage, readOnly: true, call: typed(storagePoolNumOfVolumes)},
	ProcStoragePoolListVolumes:          {name: "STORAGE_POOL_LIST_VOLUMES", family: familyStorage, readOnly: true, call: typed(storagePoolListVolumes)},
	ProcStoragePoolListAllVolumes:       {name: "STORAGE_POOL_LIST_ALL_VOLUMES", family: familyStorage, readOnly: true, call: typed(storagePoolListAllVolumes)},
	ProcStorageVolLookupByName:          {name: "STORAGE_VOL_LOOKUP_BY_NAME", family: familyStorage, readOnly: true, call: typed(storageVolLookupByName)},
	ProcStorageVolLookupByKey:           {name: "STORAGE_VOL_LOOKUP_BY_KEY", family: familyStorage, readOnly: true, call: typed(storageVolLookupByKey)},
	ProcStorageVolLookupByPath:          {name: "STORAGE_VOL_LOOKUP_BY_PATH", family: familyStorage, readOnly: true, call: typed(storageVolLookupByPath)},
	ProcStorageVolGetInfo:               {name: "STORAGE_VOL_GET_INFO", family: familyStorage, readOnly: true, call: typed(storageVolGetInfo)},
	ProcStorageVolGetInfoFlags:          {name: "STORAGE_VOL_GET_INFO_FLAGS", family: familyStorage, readOnly: true, call: typed(storageVolGetInfoFlags)},
	ProcStorageVolGetXMLDesc:            {name: "STORAGE_VOL_GET_XML_DESC", family: familyStorage, readOnly: true, call: typed(storageVolGetXMLDesc)},
	ProcStorageVolGetPath:               {name: "STORAGE_VOL_GET_PATH", family: familyStorage, readOnly: true, call: typed(storageVolGetPath)},
	ProcStoragePoolDefineXML:            {name: "STORAGE_POOL_DEFINE_XML", family: familyStorage, call: typed(storagePoolDefineXML)},
	ProcStoragePoolCreateXML:            {name: "STORAGE_POOL_CREATE_XML", family: familyStorage, call: typed(storagePoolCreateXML)},
	ProcStoragePoolCreate:               {name: "STORAGE_POOL_CREATE", family: familyStorage, call: typed(storagePoolCreate)},
	ProcStoragePoolBuild:                {name: "STORAGE_POOL_BUILD", family: familyStorage, call: typed(storagePoolBuild)},
	ProcStoragePoolRefresh:              {name: "STORAGE_POOL_REFRESH", family: familyStorage, call: typed(storagePoolRefresh)},
	ProcStoragePoolSetAutostart:         {name: "STORAGE_POOL_SET_AUTOSTART", family: familyStorage, call: typed(storagePoolSetAutostart)},
	ProcStorageVolCreateXML:             {name: "STORAGE_VOL_CREATE_XML", family: familyStorage, call: typed(storageVolCreateXML)},
	ProcStorageVolDelete:                {name: "STORAGE_VOL_DELETE", family: familyStorage, call: typed(storageVolDelete)},

	// Guest calls beyond lifecycle, host memory, sysinfo and domain
	// capabilities (h_domain_more.go, h_node.go).
	ProcDomainSuspend:                {name: "DOMAIN_SUSPEND", family: familyDomain, call: typed(domainSuspend)},
	ProcDomainResume:                 {name: "DOMAIN_RESUME", family: familyDomain, call: typed(domainResume)},
	ProcDomainInjectNmi:              {name: "DOMAIN_INJECT_NMI", family: familyDomain, call: typed(domainInjectNMI)},
	ProcDomainSetMetadata:            {name: "DOMAIN_SET_METADATA", family: familyDomain, call: typed(domainSetMetadata)},
	ProcDomainGetMetadata:            {name: "DOMAIN_GET_METADATA", family: familyDomain, readOnly: true, call: typed(domainGetMetadata)},
	ProcDomainInterfaceAddresses:     {name: "DOMAIN_INTERFACE_ADDRESSES", family: familyDomain, readOnly: true, call: typed(domainInterfaceAddresses)},
	ProcNodeGetFreeMemory:            {name: "NODE_GET_FREE_MEMORY", family: familyHost, readOnly: true, call: typed(nodeGetFreeMemory)},
	ProcNodeGetCellsFreeMemory:       {name: "NODE_GET_CELLS_FREE_MEMORY", family: familyHost, readOnly: true, call: typed(nodeGetCellsFreeMemory)},
	ProcNodeGetMemoryStats:           {name: "NODE_GET_MEMORY_STATS", family: familyHost, readOnly: true, call: typed(nodeGetMemoryStats)},
	ProcConnectGetSysinfo:            {name: "CONNECT_GET_SYSINFO", family: familyHost, readOnly: true, call: typed(connectGetSysinfo)},
	ProcConnectGetDomainCapabilities: {name: "CONNECT_GET_DOMAIN_CAPABILITIES", family: familyHost, call: typed(connectGetDomainCapabilities)},

	// Events (h_event.go).
	ProcConnectDomainEventCallbackRegisterAny:   {name: "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", family: familyDomain, readOnly: true, call: typed(connectDomainEventCallbackRegisterAny)},
	ProcConnectDomainEventCallbackDeregisterAny: {name: "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", family: familyDomain, readOnly: true, call: typed(connectDomainEventCallbackDeregisterAny)},
	ProcConnectDomainEventRegisterAny:           {name: "CONNECT_DOMAIN_EVENT_REGISTER_ANY", family: familyDomain, readOnly: true, call: typed(connectDomainEventRegisterAny)},
	ProcConnectDomainEventDeregisterAny:         {name: "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", family: familyDomain, readOnly: true, call: typed(connectDomainEventDeregisterAny)},
}

// procAPI is the libvirt public API behind a procedure, as libvirtd names it
// in errors, and the error domain of that API's family (procs_gen.go).
type procAPI struct {
	name string
	from virt.ErrorDomain
}
