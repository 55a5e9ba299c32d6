package cloudsim

import (
	"fmt"
	"sort"
	"strings"
)

// Roles of the sim's user (Options.Role), as realcloud's Keystone grants them.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// ComputeQuota is the project's Nova quota: -1 is unlimited. The zero
// value means DefaultComputeQuota.
type ComputeQuota struct {
	Instances, Cores, RAM int
}

// DefaultComputeQuota is the quota realcloud's bootstrap gives its admin
// project (Nova's own defaults are 10 instances, 20 cores, 51200 MB).
var DefaultComputeQuota = ComputeQuota{Instances: 1000, Cores: 2000, RAM: 4096000}

// checkComputeQuota is Nova's quota check for one more server of flavor fl,
// counted over the live servers (the fixture's included), with Nova's
// message: the exceeded resources sorted, their numbers in the same order.
// Caller holds s.mu.
func (s *Sim) checkComputeQuota(fl *flavor) *apiError {
	q := s.opts.ComputeQuota
	used := map[string]int{}
	for _, v := range s.st.servers {
		if !v.Deleted {
			used["instances"]++
			used["cores"] += v.Flavor.VCPUs
			used["ram"] += v.Flavor.RAM
		}
	}
	req := map[string]int{"instances": 1, "cores": fl.VCPUs, "ram": fl.RAM}
	limit := map[string]int{"instances": q.Instances, "cores": q.Cores, "ram": q.RAM}
	var overs []string
	for k, l := range limit {
		if l >= 0 && used[k]+req[k] > l {
			overs = append(overs, k)
		}
	}
	if len(overs) == 0 {
		return nil
	}
	sort.Strings(overs)
	list := func(m map[string]int) string {
		var parts []string
		for _, k := range overs {
			parts = append(parts, fmt.Sprint(m[k]))
		}
		return strings.Join(parts, ", ")
	}
	names := strings.Join(overs, ", ")
	return novaErr(403, "Quota exceeded for %s: Requested %s, but already used %s of %s %s",
		names, list(req), list(used), list(limit), names)
}

// macPolicy is Neutron's create_port:mac_address rule (Zed's default:
// advsvc, admin or the network's owner): a member may choose the MAC on its
// own project's networks, not on another project's shared one. Caller holds
// s.mu.
func (s *Sim) macPolicy(n *network) *apiError {
	if s.opts.Role == RoleAdmin || n.ProjectID == "" || n.ProjectID == s.st.projectID {
		return nil
	}
	return neutronErr(403, "PolicyNotAuthorized", "(rule:create_port and rule:create_port:mac_address) is disallowed by policy")
}

// networkVisible: a member sees its project's networks and shared ones.
// Caller holds s.mu.
func (s *Sim) networkVisible(n *network) bool {
	return s.opts.Role == RoleAdmin || n.ProjectID == "" || n.ProjectID == s.st.projectID || n.Shared
}
