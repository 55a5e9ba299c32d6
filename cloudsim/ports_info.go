package cloudsim

// PortInfo is a snapshot of one Neutron port.
type PortInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	NetworkID   string `json:"network_id"`
	MAC         string `json:"mac_address"`
	DeviceID    string `json:"device_id"`
	DeviceOwner string `json:"device_owner"`
}

// Ports lists every port, in creation order: what tests compare to prove a
// failed call left nothing behind.
func (s *Sim) Ports() []PortInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PortInfo, 0, len(s.st.ports))
	for _, p := range s.st.ports {
		out = append(out, PortInfo{ID: p.ID, Name: p.Name, NetworkID: p.NetworkID, MAC: p.MAC, DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner})
	}
	return out
}
