package cloudsim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const neutronTime = "2006-01-02T15:04:05Z"

func fixedIPsView(p *port) []any {
	out := []any{}
	for _, ip := range p.FixedIPs {
		out = append(out, map[string]any{"ip_address": ip.IP, "subnet_id": ip.SubnetID})
	}
	return out
}

func (s *Sim) portView(p *port) map[string]any {
	// A port inherits its network's port security, as Neutron's default.
	security := true
	if n := s.st.networkByID(p.NetworkID); n != nil {
		security = !n.NoPortSecurity
	}
	m := map[string]any{
		"admin_state_up": true, "allowed_address_pairs": []any{}, "binding:host_id": p.HostID,
		"binding:profile": map[string]any{}, "binding:vif_details": map[string]any{},
		"binding:vif_type": "unbound", "binding:vnic_type": "normal",
		"created_at": p.Created.Format(neutronTime), "description": "", "device_id": p.DeviceID,
		"device_owner": p.DeviceOwner, "extra_dhcp_opts": []any{}, "fixed_ips": fixedIPsView(p),
		"id": p.ID, "mac_address": p.MAC, "name": p.Name, "network_id": p.NetworkID,
		"port_security_enabled": security, "project_id": s.st.projectID, "revision_number": p.Revision,
		"security_groups": []any{s.st.secGroupID}, "status": "DOWN", "tags": []any{},
		"tenant_id": s.st.projectID, "updated_at": p.Updated.Format(neutronTime),
	}
	if p.HostID != "" {
		m["binding:vif_type"] = "ovs"
		m["binding:vif_details"] = map[string]any{"bound_drivers": map[string]any{"0": "openvswitch"},
			"bridge_name": "br-int", "connectivity": "l2", "datapath_type": "system",
			"ovs_hybrid_plug": false, "port_filter": true}
	}
	return m
}

func (s *Sim) networkView(n *network) map[string]any {
	owner := n.ProjectID
	if owner == "" {
		owner = s.st.projectID
	}
	return map[string]any{
		"admin_state_up": !n.AdminDown, "availability_zone_hints": []any{}, "availability_zones": []any{},
		"created_at": n.Created.Format(neutronTime), "description": n.Description, "id": n.ID, "ipv4_address_scope": nil,
		"ipv6_address_scope": nil, "mtu": 1500, "name": n.Name,
		"port_security_enabled": !n.NoPortSecurity, "project_id": owner, "provider:network_type": "local",
		"provider:physical_network": nil, "provider:segmentation_id": nil, "revision_number": n.Revision,
		"router:external": false, "shared": n.Shared, "status": "ACTIVE", "subnets": append([]string{}, n.Subnets...),
		"tags": []any{}, "tenant_id": owner, "updated_at": n.Updated.Format(neutronTime),
	}
}

func (s *Sim) subnetView(sn *subnet) map[string]any {
	last := sn.Prefix.Addr()
	bits := 32 - sn.Prefix.Bits()
	ip := last.As4()
	u := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	u |= (1 << bits) - 1
	end := net.IPv4(byte(u>>24), byte(u>>16), byte(u>>8), byte(u-1)).String()
	start := sn.Prefix.Addr().Next().String()
	if sn.Gateway != "" {
		start = sn.Prefix.Addr().Next().Next().String()
	}
	pools := []any{map[string]any{"start": start, "end": end}}
	if sn.Pools != nil {
		pools = []any{}
		for _, p := range sn.Pools {
			pools = append(pools, map[string]any{"start": p[0], "end": p[1]})
		}
	}
	return map[string]any{
		"allocation_pools": pools,
		"cidr":             sn.Prefix.String(), "created_at": sn.Created.Format(neutronTime), "description": "",
		"dns_nameservers": []any{}, "dns_publish_fixed_ip": nil, "enable_dhcp": sn.EnableDHCP,
		"gateway_ip": nullStr(sn.Gateway), "host_routes": []any{}, "id": sn.ID, "ip_version": 4,
		"ipv6_address_mode": nil, "ipv6_ra_mode": nil, "name": sn.Name, "network_id": sn.NetworkID,
		"project_id": s.st.projectID, "revision_number": sn.Revision, "service_types": []any{},
		"subnetpool_id": nil, "tags": []any{}, "tenant_id": s.st.projectID,
		"updated_at": sn.Updated.Format(neutronTime),
	}
}

// neutronList filters items by query fields (repeated values OR), pages
// them with limit/marker, and writes {"<coll>": […], "<coll>_links": […]}.
func neutronList(c *call, coll string, items []map[string]any) *apiError {
	q := c.r.URL.Query()
	limit := -1
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return neutronErr(400, "InvalidInput", fmt.Sprintf("Invalid input for operation: '%s' is not an integer.", l))
		}
		limit = n
	}
	marker := q.Get("marker")
	out := []any{}
	started := marker == ""
	for _, it := range items {
		if !started {
			if it["id"] == marker {
				started = true
			}
			continue
		}
		if !neutronMatch(it, q) {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, it)
	}
	body := map[string]any{coll: out}
	if limit > 0 && len(out) == limit {
		last := out[len(out)-1].(map[string]any)["id"].(string)
		body[coll+"_links"] = []any{map[string]any{"rel": "next",
			"href": nextLink(c.root+c.r.URL.Path, q, last)}}
	}
	writeJSON(c.w, 200, body)
	return nil
}

func neutronMatch(it map[string]any, q url.Values) bool {
	for k, want := range q {
		switch k {
		case "limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse":
			continue
		}
		v, ok := it[k]
		if !ok {
			continue
		}
		if k == "fixed_ips" {
			continue
		}
		got := fmt.Sprint(v)
		if v == nil {
			got = ""
		}
		if !slices.Contains(want, got) {
			return false
		}
	}
	return true
}

func neutronNotFound(kind, id string) *apiError {
	return neutronErr(404, kind+"NotFound", fmt.Sprintf("%s %s could not be found.", kind, id))
}

func malformedNeutron() *apiError {
	return neutronErr(400, "HTTPBadRequest", "Malformed request body")
}

func (s *Sim) handleNeutronVersions(c *call) *apiError {
	writeJSON(c.w, 200, map[string]any{"versions": []any{map[string]any{"id": "v2.0", "status": "CURRENT",
		"links": []any{map[string]any{"href": c.root + NetworkPath + "/v2.0/", "rel": "self"}}}}})
	return nil
}

func (s *Sim) handleNetworksList(c *call) *apiError {
	s.mu.Lock()
	items := make([]map[string]any, 0, len(s.st.networks))
	for _, n := range s.st.networks {
		if s.networkVisible(n) {
			items = append(items, s.networkView(n))
		}
	}
	s.mu.Unlock()
	return neutronList(c, "networks", items)
}

func (s *Sim) handleNetworkShow(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.networkByID(c.r.PathValue("id"))
	if n == nil || !s.networkVisible(n) {
		return neutronNotFound("Network", c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"network": s.networkView(n)})
	return nil
}

func (s *Sim) handleNetworkCreate(c *call) *apiError {
	var req struct {
		Network *networkFields `json:"network"`
	}
	if !readJSON(c, &req) || req.Network == nil {
		return malformedNeutron()
	}
	if err := req.Network.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.addNetwork(deref(req.Network.Name), s.now())
	req.Network.apply(n)
	writeJSON(c.w, 201, map[string]any{"network": s.networkView(n)})
	return nil
}

// networkFields are the network attributes a create or update may set.
type networkFields struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	AdminStateUp *bool   `json:"admin_state_up"`
}

// check refuses what Neutron's API validation refuses (names and
// descriptions are at most 255 characters).
func (f *networkFields) check() *apiError {
	for _, v := range []*string{f.Name, f.Description} {
		if v != nil && len([]rune(*v)) > 255 {
			return neutronErr(400, "HTTPBadRequest", fmt.Sprintf(
				"Invalid input for name. Reason: '%s' exceeds maximum length of 255.", *v))
		}
	}
	return nil
}

func (f *networkFields) apply(n *network) {
	if f.Name != nil {
		n.Name = *f.Name
	}
	if f.Description != nil {
		n.Description = *f.Description
	}
	if f.AdminStateUp != nil {
		n.AdminDown = !*f.AdminStateUp
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// handleNetworkUpdate is PUT /networks/{id}: name, description and
// admin_state_up, by the network's owner (or an admin).
func (s *Sim) handleNetworkUpdate(c *call) *apiError {
	var req struct {
		Network *networkFields `json:"network"`
	}
	if !readJSON(c, &req) || req.Network == nil {
		return malformedNeutron()
	}
	if err := req.Network.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	n := s.st.networkByID(id)
	if n == nil || !s.networkVisible(n) {
		return neutronNotFound("Network", id)
	}
	if s.opts.Role != RoleAdmin && n.ProjectID != "" && n.ProjectID != s.st.projectID {
		return neutronErr(403, "HTTPForbidden", "(rule:update_network) is disallowed by policy")
	}
	req.Network.apply(n)
	n.Updated = s.now().UTC().Truncate(time.Second)
	n.Revision++
	writeJSON(c.w, 200, map[string]any{"network": s.networkView(n)})
	return nil
}

func (s *Sim) handleNetworkDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	n := s.st.networkByID(id)
	if n == nil {
		return neutronNotFound("Network", id)
	}
	for _, p := range s.st.ports {
		if p.NetworkID == id && p.DeviceOwner != "" && !strings.HasPrefix(p.DeviceOwner, "network:") {
			return neutronErr(409, "NetworkInUse", fmt.Sprintf(
				"Unable to complete operation on network %s. There are one or more ports still in use on the network.", id))
		}
	}
	s.st.ports = slices.DeleteFunc(s.st.ports, func(p *port) bool { return p.NetworkID == id })
	s.st.subnets = slices.DeleteFunc(s.st.subnets, func(sn *subnet) bool { return sn.NetworkID == id })
	s.st.networks = slices.DeleteFunc(s.st.networks, func(x *network) bool { return x.ID == id })
	c.w.WriteHeader(204)
	return nil
}

func (s *Sim) handleSubnetsList(c *call) *apiError {
	s.mu.Lock()
	items := make([]map[string]any, 0, len(s.st.subnets))
	for _, sn := range s.st.subnets {
		items = append(items, s.subnetView(sn))
	}
	s.mu.Unlock()
	return neutronList(c, "subnets", items)
}

func (s *Sim) handleSubnetShow(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.st.subnetByID(c.r.PathValue("id"))
	if sn == nil {
		return neutronNotFound("Subnet", c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"subnet": s.subnetView(sn)})
	return nil
}

func (s *Sim) handleSubnetCreate(c *call) *apiError {
	var req struct {
		Subnet *struct {
			Name       string          `json:"name"`
			NetworkID  string          `json:"network_id"`
			CIDR       string          `json:"cidr"`
			IPVersion  int             `json:"ip_version"`
			GatewayIP  json.RawMessage `json:"gateway_ip"`
			EnableDHCP *bool           `json:"enable_dhcp"`
			Pools      []struct {
				Start string `json:"start"`
				End   string `json:"end"`
			} `json:"allocation_pools"`
		} `json:"subnet"`
	}
	if !readJSON(c, &req) || req.Subnet == nil {
		return malformedNeutron()
	}
	r := req.Subnet
	if r.IPVersion != 0 && r.IPVersion != 4 {
		return neutronErr(400, "InvalidInput", "Invalid input for operation: cloudsim supports ip_version 4 only.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.networkByID(r.NetworkID)
	if n == nil {
		return neutronNotFound("Network", r.NetworkID)
	}
	dhcp := true
	if r.EnableDHCP != nil {
		dhcp = *r.EnableDHCP
	}
	gw := ""
	if string(r.GatewayIP) != "null" {
		if len(r.GatewayIP) > 0 {
			_ = json.Unmarshal(r.GatewayIP, &gw)
		}
	}
	sn, err := s.st.addSubnet(n, r.Name, r.CIDR, gw, dhcp, s.now())
	if err != nil {
		return neutronErr(400, "InvalidInput", fmt.Sprintf("Invalid input for cidr. Reason: '%s' is not a valid IP subnet.", r.CIDR))
	}
	if gw == "" && len(r.GatewayIP) == 0 {
		sn.Gateway = sn.Prefix.Addr().Next().String()
		sn.next = sn.next.Next()
	}
	for _, p := range r.Pools {
		sn.Pools = append(sn.Pools, [2]string{p.Start, p.End})
	}
	writeJSON(c.w, 201, map[string]any{"subnet": s.subnetView(sn)})
	return nil
}

func (s *Sim) handleSubnetDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	sn := s.st.subnetByID(id)
	if sn == nil {
		return neutronNotFound("Subnet", id)
	}
	for _, p := range s.st.ports {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == id {
				return neutronErr(409, "SubnetInUse", fmt.Sprintf(
					"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id))
			}
		}
	}
	s.st.subnets = slices.DeleteFunc(s.st.subnets, func(x *subnet) bool { return x.ID == id })
	if n := s.st.networkByID(sn.NetworkID); n != nil {
		n.Subnets = slices.DeleteFunc(n.Subnets, func(x string) bool { return x == id })
		n.Revision++
	}
	c.w.WriteHeader(204)
	return nil
}

func (s *Sim) handlePortsList(c *call) *apiError {
	s.mu.Lock()
	q := c.r.URL.Query()
	items := make([]map[string]any, 0, len(s.st.ports))
	for _, p := range s.st.ports {
		// cheap pre-filter on the indexed fields before building the view
		if d := q["device_id"]; len(d) > 0 && !slices.Contains(d, p.DeviceID) {
			continue
		}
		if m := q["mac_address"]; len(m) > 0 && !slices.Contains(m, p.MAC) {
			continue
		}
		items = append(items, s.portView(p))
	}
	s.mu.Unlock()
	return neutronList(c, "ports", items)
}

func (s *Sim) handlePortShow(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.portByID(c.r.PathValue("id"))
	if p == nil {
		return neutronNotFound("Port", c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"port": s.portView(p)})
	return nil
}

func validMAC(mac string) bool {
	hw, err := net.ParseMAC(mac)
	return err == nil && len(hw) == 6 && strings.Count(mac, ":") == 5
}

func (s *Sim) handlePortCreate(c *call) *apiError {
	var req struct {
		Port *struct {
			Name      string `json:"name"`
			NetworkID string `json:"network_id"`
			MAC       string `json:"mac_address"`
			DeviceID  string `json:"device_id"`
		} `json:"port"`
	}
	if !readJSON(c, &req) || req.Port == nil {
		return malformedNeutron()
	}
	r := req.Port
	if r.NetworkID == "" {
		return neutronErr(400, "HTTPBadRequest", "Failed to parse request. Required attribute 'network_id' not specified")
	}
	mac := strings.ToLower(r.MAC)
	if r.MAC != "" && !validMAC(r.MAC) {
		return neutronErr(400, "HTTPBadRequest", fmt.Sprintf("Invalid input for mac_address. Reason: '%s' is not a valid MAC address.", r.MAC))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.networkByID(r.NetworkID)
	if n == nil || !s.networkVisible(n) {
		return neutronNotFound("Network", r.NetworkID)
	}
	if r.MAC != "" {
		if err := s.macPolicy(n); err != nil {
			return err
		}
	}
	p, err := s.st.addPort(n, r.Name, mac, s.now())
	if err != nil {
		return err
	}
	writeJSON(c.w, 201, map[string]any{"port": s.portView(p)})
	return nil
}

func (s *Sim) handlePortUpdate(c *call) *apiError {
	var req struct {
		Port *struct {
			Name *string `json:"name"`
			MAC  *string `json:"mac_address"`
		} `json:"port"`
	}
	if !readJSON(c, &req) || req.Port == nil {
		return malformedNeutron()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.portByID(c.r.PathValue("id"))
	if p == nil {
		return neutronNotFound("Port", c.r.PathValue("id"))
	}
	if m := req.Port.MAC; m != nil {
		if !validMAC(*m) {
			return neutronErr(400, "HTTPBadRequest", fmt.Sprintf("Invalid input for mac_address. Reason: '%s' is not a valid MAC address.", *m))
		}
		if p.DeviceOwner != "" {
			return neutronErr(409, "PortBound", fmt.Sprintf("Unable to complete operation on port %s, port is already bound, port type: ovs, old_mac %s, new_mac %s.", p.ID, p.MAC, *m))
		}
		for _, o := range s.st.ports {
			if o != p && o.NetworkID == p.NetworkID && o.MAC == strings.ToLower(*m) {
				return neutronErr(409, "MacAddressInUse", fmt.Sprintf(
					"Unable to complete operation for network %s. The mac address %s is in use.", p.NetworkID, *m))
			}
		}
		p.MAC = strings.ToLower(*m)
	}
	if req.Port.Name != nil {
		p.Name = *req.Port.Name
	}
	p.Revision++
	p.Updated = s.now().UTC().Truncate(time.Second)
	s.invalidatePortServer(p)
	writeJSON(c.w, 200, map[string]any{"port": s.portView(p)})
	return nil
}

// invalidatePortServer drops the render cache of the server using p.
func (s *Sim) invalidatePortServer(p *port) {
	if v, ok := s.st.byID[p.DeviceID]; ok {
		v.cache = nil
	}
}

func (s *Sim) handlePortDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	p := s.st.portByID(id)
	if p == nil {
		return neutronNotFound("Port", id)
	}
	if v, ok := s.st.byID[p.DeviceID]; ok {
		v.Ports = slices.DeleteFunc(v.Ports, func(x string) bool { return x == id })
		v.touch(s.now())
		s.notify()
	}
	s.st.deletePort(id)
	c.w.WriteHeader(204)
	return nil
}
