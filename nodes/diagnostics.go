package nodes

import (
	"context"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// diagnosticsMicroversion is the compute API version of the standardized
// server diagnostics (cpu_details, memory_details, …), the same on every
// hypervisor driver.
const diagnosticsMicroversion = "2.48"

// Diagnostics is what Nova's server diagnostics say of a running guest, as
// far as libvirt's calls use it.
type Diagnostics struct {
	// CPUTime is each vCPU's CPU time in nanoseconds, by vCPU id
	// (cpu_details[].id and .time); a vCPU Nova gives no time for is absent.
	CPUTime map[int]uint64
}

// diagnosticsBody is the 2.48 answer, the parts read.
type diagnosticsBody struct {
	CPUDetails []struct {
		ID   *int    `json:"id"`
		Time *uint64 `json:"time"`
	} `json:"cpu_details"`
}

// Diagnostics reads server id's diagnostics (GET /servers/{id}/diagnostics,
// admin-only in Nova's default policy). A cloud that does not give them — a
// policy that forbids it (403), a hypervisor driver without them (501) — is
// ErrUnsupported with Nova's message; a server that does not run is
// ErrConflict (Nova's 409).
func (inv *Inventory) Diagnostics(ctx context.Context, id string) (Diagnostics, error) {
	op := "server diagnostics " + id
	cloud, err := inv.connected()
	if err != nil {
		return Diagnostics{}, err
	}
	c := *cloud.Compute // a copy: the microversion is this request's
	c.Microversion = diagnosticsMicroversion
	var body diagnosticsBody
	_, err = c.Get(ctx, c.ServiceURL("servers", id, "diagnostics"), &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		return Diagnostics{}, refusedOr(op, "server diagnostics", diagnosticsMicroversion, err, http.StatusForbidden, http.StatusNotImplemented)
	}
	d := Diagnostics{CPUTime: map[int]uint64{}}
	for _, c := range body.CPUDetails {
		if c.ID != nil && c.Time != nil {
			d.CPUTime[*c.ID] = *c.Time
		}
	}
	return d, nil
}
