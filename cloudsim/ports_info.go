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

// NetworkInfo is a network as the sim holds it, with its subnets' ids.
type NetworkInfo struct {
	ID, Name, Description string
	AdminUp               bool
	Subnets               []string
}

// Networks lists every network, in creation order, for tests that check a
// call left the cloud's networks as they were.
func (s *Sim) Networks() []NetworkInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NetworkInfo, 0, len(s.st.networks))
	for _, n := range s.st.networks {
		out = append(out, NetworkInfo{ID: n.ID, Name: n.Name, Description: n.Description, AdminUp: !n.AdminDown,
			Subnets: append([]string(nil), n.Subnets...)})
	}
	return out
}
