package cloudsim

import (
	"encoding/json"
	"strings"
	"time"
)

// Nova time formats.
const (
	novaTime   = "2006-01-02T15:04:05Z"
	novaUsgTme = "2006-01-02T15:04:05.000000"
)

// novaStatus is Nova's API status for (vm_state, task_state)
// (nova/api/openstack/common.py _STATE_MAP).
func novaStatus(vm, task string) string {
	switch vm {
	case vmActive:
		switch task {
		case "rebooting", "reboot_pending", "reboot_started":
			return "REBOOT"
		case "rebooting_hard", "reboot_pending_hard", "reboot_started_hard":
			return "HARD_REBOOT"
		case "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning":
			return "REBUILD"
		case "updating_password":
			return "PASSWORD"
		case "migrating":
			return "MIGRATING"
		}
		return "ACTIVE"
	case vmBuilding:
		return "BUILD"
	case vmStopped:
		if task == "rebuilding" || task == "rebuild_block_device_mapping" || task == "rebuild_spawning" {
			return "REBUILD"
		}
		return "SHUTOFF"
	case vmRescued:
		return "RESCUE"
	case vmError:
		if task == "rebuilding" || task == "rebuild_spawning" {
			return "REBUILD"
		}
		return "ERROR"
	case vmDeleted:
		return "DELETED"
	case vmPaused:
		return "PAUSED"
	case vmSuspend:
		return "SUSPENDED"
	}
	return "UNKNOWN"
}

func (v *server) status() string { return novaStatus(v.VMState, v.TaskState) }

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time, layout string) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(layout)
}

// volumesAttachedView is os-extended-volumes:volumes_attached
// (delete_on_termination from 2.3).
func volumesAttachedView(v *server, mv microversion) []any {
	out := []any{}
	for _, sv := range v.Volumes {
		e := map[string]any{"id": sv.ID}
		if mv.ge(3) {
			e["delete_on_termination"] = sv.DeleteOnTermination
		}
		out = append(out, e)
	}
	return out
}

func links(self, bookmark string) []any {
	return []any{
		map[string]any{"href": self, "rel": "self"},
		map[string]any{"href": bookmark, "rel": "bookmark"},
	}
}

// computeURLs gives the versioned and bookmark bases of the compute API.
func computeURLs(root string) (versioned, bookmark string) {
	return root + ComputePath, root + strings.TrimSuffix(ComputePath, "/v2.1")
}

// hostname is Nova's sanitized hostname of a display name.
func hostname(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ' || r == '_' || r == '.':
			b.WriteRune('-')
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = h[:63]
	}
	if h == "" {
		return "server"
	}
	return h
}

// addresses groups the server's ports by network name.
func (s *Sim) addresses(v *server, withMAC bool) map[string]any {
	out := map[string]any{}
	if v.Deleted {
		return out
	}
	for _, pid := range v.Ports {
		p := s.st.portByID(pid)
		if p == nil {
			continue
		}
		n := s.st.networkByID(p.NetworkID)
		if n == nil {
			continue
		}
		list, _ := out[n.Name].([]any)
		for _, ip := range p.FixedIPs {
			a := map[string]any{"addr": ip.IP, "version": 4}
			if withMAC {
				a["OS-EXT-IPS-MAC:mac_addr"] = p.MAC
				a["OS-EXT-IPS:type"] = "fixed"
			}
			list = append(list, a)
		}
		if list == nil {
			list = []any{}
		}
		out[n.Name] = list
	}
	return out
}

// serverView is the detailed server body of GET /servers/{id} (show) or one
// entry of GET /servers/detail, shaped for microversion mv.
func (s *Sim) serverView(v *server, root string, mv microversion, show bool) map[string]any {
	api, bm := computeURLs(root)
	scheduled := !(v.VMState == vmBuilding && v.TaskState == "scheduling")
	status := v.status()
	m := map[string]any{
		"OS-DCF:diskConfig":                    "MANUAL",
		"OS-EXT-AZ:availability_zone":          availZone,
		"OS-EXT-SRV-ATTR:host":                 nil,
		"OS-EXT-SRV-ATTR:hypervisor_hostname":  nil,
		"OS-EXT-SRV-ATTR:instance_name":        instanceName(v.Num),
		"OS-EXT-STS:power_state":               v.PowerState,
		"OS-EXT-STS:task_state":                nullStr(v.TaskState),
		"OS-EXT-STS:vm_state":                  v.VMState,
		"OS-SRV-USG:launched_at":               nullTime(v.LaunchedAt, novaUsgTme),
		"OS-SRV-USG:terminated_at":             nullTime(v.TerminatedAt, novaUsgTme),
		"accessIPv4":                           "",
		"accessIPv6":                           "",
		"addresses":                            s.addresses(v, true),
		"config_drive":                         "",
		"created":                              v.Created.UTC().Format(novaTime),
		"hostId":                               "",
		"id":                                   v.ID,
		"key_name":                             nil,
		"links":                                links(api+"/servers/"+v.ID, bm+"/servers/"+v.ID),
		"metadata":                             copyMap(v.Metadata),
		"name":                                 v.Name,
		"os-extended-volumes:volumes_attached": volumesAttachedView(v, mv),
		"status":                               status,
		"tenant_id":                            s.st.projectID,
		"updated":                              v.Updated.UTC().Format(novaTime),
		"user_id":                              s.st.userID,
	}
	if !scheduled {
		m["OS-EXT-AZ:availability_zone"] = ""
	} else {
		m["OS-EXT-SRV-ATTR:host"] = computeHost
		m["OS-EXT-SRV-ATTR:hypervisor_hostname"] = computeHost
		m["hostId"] = s.st.hostID()
	}
	if v.ImageID != "" {
		m["image"] = map[string]any{"id": v.ImageID, "links": []any{
			map[string]any{"href": bm + "/images/" + v.ImageID, "rel": "bookmark"}}}
	} else {
		m["image"] = ""
	}
	if mv.ge(47) {
		f := v.Flavor
		m["flavor"] = map[string]any{"vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk, "ephemeral": f.Ephemeral,
			"swap": f.Swap, "original_name": f.Name, "extra_specs": extraSpecsView(&f)}
	} else {
		m["flavor"] = map[string]any{"id": v.Flavor.ID, "links": []any{
			map[string]any{"href": bm + "/flavors/" + v.Flavor.ID, "rel": "bookmark"}}}
	}
	if !v.Deleted {
		m["security_groups"] = []any{map[string]any{"name": "default"}}
	}
	switch status {
	case "ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING":
		// In show and in /servers/detail alike (Nova's ViewBuilder.show
		// builds both).
		m["progress"] = 0
	}
	if mv.ge(3) {
		m["OS-EXT-SRV-ATTR:hostname"] = hostname(v.Name)
		m["OS-EXT-SRV-ATTR:kernel_id"] = ""
		m["OS-EXT-SRV-ATTR:launch_index"] = 0
		m["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
		m["OS-EXT-SRV-ATTR:reservation_id"] = v.ReservationID
		m["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/sda"
		m["OS-EXT-SRV-ATTR:user_data"] = nil
		if !scheduled {
			m["OS-EXT-SRV-ATTR:root_device_name"] = nil
		}
	}
	if mv.ge(9) {
		m["locked"] = false
	}
	if mv.ge(16) {
		hs := "UP"
		if v.Deleted || !scheduled {
			hs = ""
		}
		m["host_status"] = hs
	}
	if mv.ge(19) {
		m["description"] = nil
		if v.Description != nil {
			m["description"] = *v.Description
		}
	}
	if mv.ge(26) {
		m["tags"] = tagList(v)
	}
	if mv.ge(63) {
		m["trusted_image_certificates"] = nil
	}
	if mv.ge(71) && show {
		m["server_groups"] = []any{}
	}
	if mv.ge(73) {
		m["locked_reason"] = nil
	}
	if v.Fault != nil && (v.VMState == vmError || v.Deleted) {
		f := map[string]any{"code": v.Fault.Code, "message": v.Fault.Message,
			"created": v.Fault.Created.UTC().Format(novaTime)}
		if v.Fault.Code == 500 && v.Fault.Details != "" {
			f["details"] = v.Fault.Details
		}
		m["fault"] = f
	}
	return m
}

// listEntry is the cached JSON of one /servers/detail entry.
func (s *Sim) listEntry(v *server, root string, mv microversion) []byte {
	key := mv.String() + "|" + root
	if b, ok := v.cache[key]; ok {
		return b
	}
	b, _ := json.Marshal(s.serverView(v, root, mv, false))
	if v.cache == nil {
		v.cache = make(map[string][]byte, 1)
	}
	v.cache[key] = b
	return b
}

func summaryView(v *server, root string) map[string]any {
	api, bm := computeURLs(root)
	return map[string]any{"id": v.ID, "name": v.Name, "links": links(api+"/servers/"+v.ID, bm+"/servers/"+v.ID)}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func flavorView(f *flavor, root string, mv microversion, detail bool) map[string]any {
	api, bm := computeURLs(root)
	m := map[string]any{"id": f.ID, "name": f.Name, "links": links(api+"/flavors/"+f.ID, bm+"/flavors/"+f.ID)}
	if mv.ge(55) {
		m["description"] = nil
	}
	if !detail {
		return m
	}
	m["OS-FLV-DISABLED:disabled"] = false
	m["OS-FLV-EXT-DATA:ephemeral"] = f.Ephemeral
	m["disk"] = f.Disk
	m["os-flavor-access:is_public"] = true
	m["ram"] = f.RAM
	m["rxtx_factor"] = 1.0
	m["swap"] = f.Swap
	if f.Swap == 0 && !mv.ge(75) {
		m["swap"] = "" // before 2.75 Nova renders a zero swap as ""
	}
	m["vcpus"] = f.VCPUs
	if mv.ge(61) {
		m["extra_specs"] = extraSpecsView(f)
	}
	return m
}

// extraSpecsView is a flavor's extra specs as Nova renders them: always an
// object, {} when there are none.
func extraSpecsView(f *flavor) map[string]any {
	es := map[string]any{}
	for k, v := range f.ExtraSpecs {
		es[k] = v
	}
	return es
}

func instanceName(n int) string {
	const hexd = "0123456789abcdef"
	b := []byte("instance-00000000")
	for i := len(b) - 1; i >= len("instance-") && n > 0; i-- {
		b[i] = hexd[n&15]
		n >>= 4
	}
	return string(b)
}
