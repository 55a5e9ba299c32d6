package cloudsim

// GET /servers/{id}/diagnostics as Nova Zed answers it with the fake virt
// driver (recorded: testdata/realdiagnostics): admin-only in Nova's default
// policy, a 409 unless the hypervisor reports the guest running, and the
// fake driver's fixed numbers — one vCPU whatever the flavor — in the
// standardized form from 2.48 on, the driver's own keys before.

// novaPowerStateNames is nova.compute.power_state.STATE_MAP.
var novaPowerStateNames = map[int]string{0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended"}

func (s *Sim) handleDiagnostics(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	if s.opts.Role != RoleAdmin {
		return novaErr(403, "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed.")
	}
	if v.PowerState != powerRunning {
		return novaErr(409, "Cannot 'get_diagnostics' instance %s while it is in power state %s", v.ID, novaPowerStateNames[v.PowerState])
	}
	if !c.mv.ge(48) {
		writeJSON(c.w, 200, map[string]any{"cpu0_time": 17300000000, "memory": 524288, "vda_errors": -1, "vda_read": 262144,
			"vda_read_req": 112, "vda_write": 5778432, "vda_write_req": 488, "vnet1_rx": 2070139, "vnet1_rx_drop": 0,
			"vnet1_rx_errors": 0, "vnet1_rx_packets": 26701, "vnet1_tx": 140208, "vnet1_tx_drop": 0, "vnet1_tx_errors": 0,
			"vnet1_tx_packets": 662})
		return nil
	}
	writeJSON(c.w, 200, map[string]any{"state": "running", "driver": "libvirt", "hypervisor": "kvm", "hypervisor_os": "ubuntu",
		"uptime": 46664, "config_drive": true, "num_cpus": 1, "num_nics": 1, "num_disks": 1,
		"disk_details": []any{map[string]any{"read_bytes": 262144, "read_requests": 112, "write_bytes": 5778432, "write_requests": 488, "errors_count": 1}},
		"cpu_details":  []any{map[string]any{"id": 0, "time": 17300000000, "utilisation": 15}},
		"nic_details": []any{map[string]any{"mac_address": "01:23:45:67:89:ab", "rx_octets": 2070139, "rx_errors": 100, "rx_drop": 200,
			"rx_packets": 26701, "rx_rate": 300, "tx_octets": 140208, "tx_errors": 400, "tx_drop": 500, "tx_packets": 662, "tx_rate": 600}},
		"memory_details": map[string]any{"maximum": 524288, "used": 0}})
	return nil
}
