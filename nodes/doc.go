// Package nodes is the OpenStack side of quintupleo: gophercloud clients built
// from clouds.yaml or OS_* variables, the node inventory and its shared cache
// (one paginated list call per refresh, read-your-writes after our own
// actions), power actions that wait for Nova's target state, and Nova error
// classification.
//
// It knows nothing about libvirt: no go-libvirt, no domain XML, no libvirt
// error codes. Callers above it (driver/domain) give those meanings.
package nodes
