package cloudsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ErrNotFound is returned by the out-of-band methods for an unknown server.
var ErrNotFound = errors.New("cloudsim: no such server")

// ServerSpec describes a server created out of band (as if by someone else
// in the cloud): it appears at once in its final state, no task.
type ServerSpec struct {
	Name     string            `json:"name"`
	Flavor   string            `json:"flavor,omitempty"`  // name or id; default "baremetal"
	Image    string            `json:"image,omitempty"`   // name or id; default "ipxe-boot"
	Network  string            `json:"network,omitempty"` // name or id; default "provision"; "none" = no port
	MAC      string            `json:"mac,omitempty"`     // port MAC; default random fa:16:3e:…
	Metadata map[string]string `json:"metadata,omitempty"`
	Status   string            `json:"status,omitempty"` // "SHUTOFF" (default), "ACTIVE" or "ERROR"
	// Description is the server's description (nil: none, Nova's null).
	Description *string `json:"description,omitempty"`
}

// ServerInfo is a snapshot of one server.
type ServerInfo struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	InstanceName string            `json:"instance_name"`
	Status       string            `json:"status"`
	VMState      string            `json:"vm_state"`
	TaskState    string            `json:"task_state"` // "" = null
	PowerState   int               `json:"power_state"`
	ImageID      string            `json:"image_id"`
	Flavor       string            `json:"flavor"`
	Metadata     map[string]string `json:"metadata"`
	MACs         []string          `json:"macs"`
	PortIDs      []string          `json:"port_ids"`
	Updated      time.Time         `json:"updated"`
	Deleted      bool              `json:"deleted"`
	// RescueImageID is the image a rescued server runs from: its
	// rescue_image_ref ("" when not rescued or rescued with its own image).
	RescueImageID string  `json:"rescue_image_id,omitempty"`
	Description   *string `json:"description"`
}

func (s *Sim) info(v *server) ServerInfo {
	in := ServerInfo{ID: v.ID, Name: v.Name, InstanceName: instanceName(v.Num), Status: v.status(),
		VMState: v.VMState, TaskState: v.TaskState, PowerState: v.PowerState, ImageID: v.ImageID,
		Flavor: v.Flavor.Name, Metadata: copyMap(v.Metadata), Updated: v.Updated, Deleted: v.Deleted,
		RescueImageID: v.RescueImageID, MACs: []string{}, PortIDs: []string{}}
	if v.Description != nil {
		d := *v.Description
		in.Description = &d
	}
	for _, pid := range v.Ports {
		if p := s.st.portByID(pid); p != nil {
			in.MACs = append(in.MACs, p.MAC)
			in.PortIDs = append(in.PortIDs, p.ID)
		}
	}
	return in
}

// find looks a server up by id or (live) name. Caller holds s.mu.
func (s *Sim) find(idOrName string) *server {
	if v, ok := s.st.byID[idOrName]; ok {
		return v
	}
	for i := len(s.st.servers) - 1; i >= 0; i-- {
		if v := s.st.servers[i]; v.Name == idOrName && !v.Deleted {
			return v
		}
	}
	return nil
}

// notify wakes WaitServer callers. Caller holds s.mu.
func (s *Sim) notify() {
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// CreateServer creates a server out of band.
func (s *Sim) CreateServer(spec ServerSpec) (ServerInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.Name == "" {
		return ServerInfo{}, errors.New("cloudsim: CreateServer: empty name")
	}
	fl := s.st.flavorByName(or(spec.Flavor, "baremetal"))
	if fl == nil {
		fl = s.st.flavorByRef(spec.Flavor)
	}
	if fl == nil {
		return ServerInfo{}, fmt.Errorf("cloudsim: CreateServer: unknown flavor %q", spec.Flavor)
	}
	im := s.st.imageByName(or(spec.Image, "ipxe-boot"))
	if im == nil {
		im = s.st.imageByID(spec.Image)
	}
	if im == nil {
		return ServerInfo{}, fmt.Errorf("cloudsim: CreateServer: unknown image %q", spec.Image)
	}
	now := s.now()
	var p *port
	if spec.Network != "none" {
		n := s.st.networkByName(or(spec.Network, "provision"))
		if n == nil {
			n = s.st.networkByID(spec.Network)
		}
		if n == nil {
			return ServerInfo{}, fmt.Errorf("cloudsim: CreateServer: unknown network %q", spec.Network)
		}
		var aerr *apiError
		if p, aerr = s.st.addPort(n, spec.Name+"-port", spec.MAC, now); aerr != nil {
			return ServerInfo{}, fmt.Errorf("cloudsim: CreateServer: %s", aerr.msg)
		}
	}
	md := copyMap(spec.Metadata)
	v := s.st.newServer(spec.Name, fl, im.ID, md, now)
	v.Description = spec.Description
	if p != nil {
		s.st.bindPort(p, v, now)
	}
	v.TaskState, v.LaunchedAt = "", now.UTC()
	switch spec.Status {
	case "", "SHUTOFF":
		v.VMState, v.PowerState = vmStopped, powerShutdown
	case "ACTIVE":
		v.VMState, v.PowerState = vmActive, powerRunning
	case "ERROR":
		v.VMState, v.PowerState = vmError, powerNoState
		v.Fault = &fault{Code: 500, Message: "cloudsim: created in ERROR", Created: now.UTC()}
	default:
		return ServerInfo{}, fmt.Errorf("cloudsim: CreateServer: status %q not SHUTOFF, ACTIVE or ERROR", spec.Status)
	}
	v.touch(now)
	s.notify()
	return s.info(v), nil
}

func or(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// DeleteServer deletes a server out of band, at once: it turns DELETED (and
// shows up as such in changes-since), its ports are released.
func (s *Sim) DeleteServer(idOrName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.find(idOrName)
	if v == nil || v.Deleted {
		return fmt.Errorf("%w: %s", ErrNotFound, idOrName)
	}
	s.deleteServer(v, true)
	s.notify()
	return nil
}

// ArchiveDeleted drops the records of every deleted server, as Nova's
// `nova-manage db archive_deleted_rows` does: they no longer show in
// changes-since, or anywhere. It returns how many went.
func (s *Sim) ArchiveDeleted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.archiveLocked()
	s.notify()
	return n
}

// WipeServers replaces Nova's database with an empty one, at once: every
// server is gone without a trace (no DELETED record in changes-since), its
// ports released and volumes detached, as when the cloud under the same
// endpoints is rebuilt. It returns how many servers went.
func (s *Sim) WipeServers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.st.servers {
		if !v.Deleted {
			s.deleteServer(v, true)
		}
	}
	n := s.archiveLocked()
	s.notify()
	return n
}

// archiveLocked drops every deleted server's record. s.mu must be held.
func (s *Sim) archiveLocked() int {
	kept := s.st.servers[:0]
	gone := 0
	for _, v := range s.st.servers {
		if !v.Deleted {
			kept = append(kept, v)
			continue
		}
		s.stopTimer(v)
		delete(s.st.byID, v.ID)
		gone++
	}
	clear(s.st.servers[len(kept):])
	s.st.servers = kept
	clear(s.st.serverIndex)
	for i, v := range kept {
		s.st.serverIndex[v.ID] = i
	}
	return gone
}

// SetPower changes a server's power out of band, as Nova's power-state sync
// does when a guest shuts itself down (on=false: SHUTOFF/stopped/4) or is
// started behind Nova's back (on=true: ACTIVE/active/1). Any task in flight
// is dropped.
func (s *Sim) SetPower(idOrName string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.find(idOrName)
	if v == nil || v.Deleted {
		return fmt.Errorf("%w: %s", ErrNotFound, idOrName)
	}
	v.gen++
	s.stopTimer(v)
	v.TaskState = ""
	if on {
		v.VMState, v.PowerState = vmActive, powerRunning
	} else {
		v.VMState, v.PowerState = vmStopped, powerShutdown
	}
	v.touch(s.now())
	s.notify()
	return nil
}

// FailNextAction makes the next action on the server (os-start, os-stop,
// reboot, rescue, unrescue, rebuild) end in ERROR with a fault carrying
// message (default "cloudsim: injected failure").
func (s *Sim) FailNextAction(idOrName, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.find(idOrName)
	if v == nil || v.Deleted {
		return fmt.Errorf("%w: %s", ErrNotFound, idOrName)
	}
	v.failNext = or(message, "cloudsim: injected failure")
	return nil
}

// Server returns a snapshot of a server (by id or name; deleted ones by id).
func (s *Sim) Server(idOrName string) (ServerInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.find(idOrName)
	if v == nil {
		return ServerInfo{}, false
	}
	return s.info(v), true
}

// Servers lists the live servers, oldest first.
func (s *Sim) Servers() []ServerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ServerInfo{}
	for _, v := range s.st.servers {
		if !v.Deleted {
			out = append(out, s.info(v))
		}
	}
	return out
}

// WaitServer blocks until cond holds for the server (by id or name) or ctx
// ends; it wakes on every state change, it does not poll.
func (s *Sim) WaitServer(ctx context.Context, idOrName string, cond func(ServerInfo) bool) (ServerInfo, error) {
	for {
		s.mu.Lock()
		v := s.find(idOrName)
		var in ServerInfo
		if v != nil {
			in = s.info(v)
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		if v == nil {
			return ServerInfo{}, fmt.Errorf("%w: %s", ErrNotFound, idOrName)
		}
		if cond(in) {
			return in, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return in, fmt.Errorf("cloudsim: waiting for %s (now %s/%s/%q): %w", idOrName, in.Status, in.VMState, in.TaskState, ctx.Err())
		case <-s.closing:
			return in, errors.New("cloudsim: closed")
		}
	}
}

// NetworkID, FlavorID and ImageID look fixture objects up by name ("" if none).
func (s *Sim) NetworkID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.st.networkByName(name); n != nil {
		return n.ID
	}
	return ""
}

// FlavorID returns the id of the flavor with this name ("" if none).
func (s *Sim) FlavorID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.st.flavorByName(name); f != nil {
		return f.ID
	}
	return ""
}

// ImageID returns the id of the image with this name ("" if none).
func (s *Sim) ImageID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if im := s.st.imageByName(name); im != nil {
		return im.ID
	}
	return ""
}

// ImageInfo is Glance's record of one image, for tests to check.
type ImageInfo struct {
	ID, Name, Status, DiskFormat, ContainerFormat, Visibility string
	Size                                                      int64
	Props                                                     map[string]string
}

// Images lists every image, in creation order.
func (s *Sim) Images() []ImageInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ImageInfo, 0, len(s.st.images))
	for _, im := range s.st.images {
		out = append(out, ImageInfo{ID: im.ID, Name: im.Name, Status: im.Status, DiskFormat: im.DiskFormat,
			ContainerFormat: im.ContainerFormat, Visibility: im.Visibility, Size: im.Size, Props: copyMap(im.Props)})
	}
	return out
}

// AddImage adds an active image with properties (e.g. hw_firmware_type) and
// returns its id.
func (s *Sim) AddImage(name string, props map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.st.addImage(&image{Name: name, DiskFormat: "raw", ContainerFormat: "bare", Visibility: "public",
		Size: 65536, Props: copyMap(props)}, s.now())
	return im.ID
}

// ProjectID is the id of project admin.
func (s *Sim) ProjectID() string { return s.st.projectID }

// NetworkSpec is a network added out of band.
type NetworkSpec struct {
	Name string
	CIDR string // one subnet without a gateway; "" = none
	DHCP bool   // the subnet has enable_dhcp (Neutron's DHCP agent answers on it)
	// NoPortSecurity sets port_security_enabled false on the network and
	// so on its ports (the fixture's network has it on, as Neutron's default).
	NoPortSecurity bool
	// OtherProject makes the network belong to another project (an
	// operator's): a member user sees it only when Shared, and may not
	// choose MACs on it (Neutron's create_port:mac_address).
	OtherProject bool
	Shared       bool
}

// AddNetwork adds a network out of band and returns its id.
func (s *Sim) AddNetwork(spec NetworkSpec) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.addNetwork(spec.Name, s.now())
	n.Shared = spec.Shared
	n.NoPortSecurity = spec.NoPortSecurity
	if spec.OtherProject {
		n.ProjectID = hexID()
	}
	if spec.CIDR != "" {
		if _, err := s.st.addSubnet(n, spec.Name+"-subnet", spec.CIDR, "", spec.DHCP, s.now()); err != nil {
			return "", fmt.Errorf("cloudsim: AddNetwork: %w", err)
		}
	}
	return n.ID, nil
}

// VolumeInfo is a volume as the sim holds it.
type VolumeInfo struct {
	ID, Name, Status, ServerID string
	Size                       int
	Bootable                   bool
}

// Volumes lists the volumes, oldest first.
func (s *Sim) Volumes() []VolumeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []VolumeInfo{}
	for _, v := range s.st.volumes {
		in := VolumeInfo{ID: v.ID, Name: v.Name, Status: v.Status, Size: v.Size, Bootable: v.Bootable}
		if v.Attachment != nil {
			in.ServerID = v.Attachment.ServerID
		}
		out = append(out, in)
	}
	return out
}

// faultJSON is Fault on the admin wire, durations as Go duration strings.
type faultJSON struct {
	ID         int     `json:"id"`
	Endpoint   string  `json:"endpoint,omitempty"`
	Latency    string  `json:"latency,omitempty"`
	ErrorRate  float64 `json:"error_rate,omitempty"`
	Status     int     `json:"status,omitempty"`
	RateLimit  float64 `json:"rate_limit,omitempty"`
	RetryAfter string  `json:"retry_after,omitempty"`
	Hang       bool    `json:"hang,omitempty"`
	Count      int     `json:"count,omitempty"`
	Proxy      bool    `json:"proxy,omitempty"`
	After      bool    `json:"after,omitempty"`
}

func durStr(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func (f Fault) wire() faultJSON {
	return faultJSON{ID: f.ID, Endpoint: f.Endpoint, Latency: durStr(f.Latency), ErrorRate: f.ErrorRate,
		Status: f.Status, RateLimit: f.RateLimit, RetryAfter: durStr(f.RetryAfter), Hang: f.Hang, Count: f.Count,
		Proxy: f.Proxy, After: f.After}
}

func (fj faultJSON) fault() (Fault, error) {
	f := Fault{Endpoint: fj.Endpoint, ErrorRate: fj.ErrorRate, Status: fj.Status, RateLimit: fj.RateLimit,
		Hang: fj.Hang, Count: fj.Count, Proxy: fj.Proxy, After: fj.After}
	var err error
	if fj.Latency != "" {
		if f.Latency, err = time.ParseDuration(fj.Latency); err != nil {
			return f, fmt.Errorf("latency: %w", err)
		}
	}
	if fj.RetryAfter != "" {
		if f.RetryAfter, err = time.ParseDuration(fj.RetryAfter); err != nil {
			return f, fmt.Errorf("retry_after: %w", err)
		}
	}
	return f, f.validate()
}

func adminErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]any{"error": err.Error()})
}

// adminRoutes registers /_sim/: counters, request log, faults, out-of-band
// server changes, token expiry, clouds.yaml.
func (s *Sim) adminRoutes() {
	A := AdminPath
	h := s.mux.HandleFunc
	h("GET "+A+"/health", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	h("GET "+A+"/counters", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Counters()) })
	h("DELETE "+A+"/counters", func(w http.ResponseWriter, _ *http.Request) { s.ResetCounters(); w.WriteHeader(204) })
	h("GET "+A+"/requests", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Requests()) })
	h("GET "+A+"/faults", func(w http.ResponseWriter, _ *http.Request) {
		out := []faultJSON{}
		for _, f := range s.Faults() {
			out = append(out, f.wire())
		}
		writeJSON(w, 200, out)
	})
	h("POST "+A+"/faults", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			adminErr(w, 400, err)
			return
		}
		var f Fault
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
			var fj faultJSON
			if err = json.Unmarshal(t, &fj); err == nil {
				f, err = fj.fault()
			}
		} else {
			f, err = ParseFault(string(t))
		}
		if err != nil {
			adminErr(w, 400, err)
			return
		}
		id, err := s.AddFault(f)
		if err != nil {
			adminErr(w, 400, err)
			return
		}
		f.ID = id
		writeJSON(w, 201, f.wire())
	})
	h("DELETE "+A+"/faults", func(w http.ResponseWriter, _ *http.Request) { s.ClearFaults(); w.WriteHeader(204) })
	h("DELETE "+A+"/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || !s.RemoveFault(id) {
			adminErr(w, 404, fmt.Errorf("no fault %q", r.PathValue("id")))
			return
		}
		w.WriteHeader(204)
	})
	h("GET "+A+"/servers", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Servers()) })
	h("GET "+A+"/servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		in, ok := s.Server(r.PathValue("id"))
		if !ok {
			adminErr(w, 404, ErrNotFound)
			return
		}
		writeJSON(w, 200, in)
	})
	h("POST "+A+"/servers", func(w http.ResponseWriter, r *http.Request) {
		var spec ServerSpec
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&spec); err != nil {
			adminErr(w, 400, err)
			return
		}
		in, err := s.CreateServer(spec)
		if err != nil {
			adminErr(w, 400, err)
			return
		}
		writeJSON(w, 201, in)
	})
	h("DELETE "+A+"/servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteServer(r.PathValue("id")); err != nil {
			adminErr(w, 404, err)
			return
		}
		w.WriteHeader(204)
	})
	h("POST "+A+"/servers/{id}/power", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			On bool `json:"on"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&b); err != nil {
			adminErr(w, 400, err)
			return
		}
		if err := s.SetPower(r.PathValue("id"), b.On); err != nil {
			adminErr(w, 404, err)
			return
		}
		w.WriteHeader(204)
	})
	h("POST "+A+"/servers/{id}/fail-next-action", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&b)
		if err := s.FailNextAction(r.PathValue("id"), b.Message); err != nil {
			adminErr(w, 404, err)
			return
		}
		w.WriteHeader(204)
	})
	h("POST "+A+"/servers/archive-deleted", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]int{"archived": s.ArchiveDeleted()})
	})
	h("POST "+A+"/servers/wipe", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]int{"wiped": s.WipeServers()})
	})
	h("POST "+A+"/tokens/expire", func(w http.ResponseWriter, _ *http.Request) { s.ExpireTokens(); w.WriteHeader(204) })
	h("GET "+A+"/clouds.yaml", func(w http.ResponseWriter, r *http.Request) {
		name := or(r.URL.Query().Get("cloud"), "sim")
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(cloudsYAML(name, rootURL(r)+IdentityPath, s.opts.Password))
	})
}
