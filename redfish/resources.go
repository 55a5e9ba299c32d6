package redfish

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"quintupleo/nodes"
)

// The URIs of the service (DSP0266): the root and its collections.
const (
	rootPath     = "/redfish/v1/"
	systemsPath  = "/redfish/v1/Systems"
	managersPath = "/redfish/v1/Managers"
	chassisPath  = "/redfish/v1/Chassis"
	sessionSvc   = "/redfish/v1/SessionService"
	sessionsPath = "/redfish/v1/SessionService/Sessions"
)

// routes is the resource table. Every GET reads the inventory's cache (and,
// for the boot mode, a Glance image read once per image): serving Ironic's
// power sync costs the cloud nothing.
func (s *Server) routes() {
	get := func(h handler) route { return route{methods: map[string]handler{http.MethodGet: h}} }
	open := route{methods: map[string]handler{http.MethodGet: s.getRoot}, open: map[string]bool{http.MethodGet: true}}
	s.handle("/redfish", route{methods: map[string]handler{http.MethodGet: func(w http.ResponseWriter, _ *http.Request, _ principal) {
		s.writeJSON(w, http.StatusOK, map[string]any{"v1": rootPath})
	}}, open: map[string]bool{http.MethodGet: true}})
	s.handle("/redfish/v1", open)
	s.handle("/redfish/v1/{$}", open)
	s.handle(sessionSvc, get(s.getSessionService))
	s.handle(sessionsPath, route{methods: map[string]handler{http.MethodGet: s.getSessions, http.MethodPost: s.postSession},
		open: map[string]bool{http.MethodPost: true}})
	s.handle(sessionsPath+"/{session}", route{methods: map[string]handler{http.MethodGet: s.getSession, http.MethodDelete: s.deleteSession}})

	s.handle(systemsPath, get(s.collection(systemsPath, "ComputerSystemCollection", "Computer System Collection")))
	s.handle(systemsPath+"/{id}", route{methods: map[string]handler{http.MethodGet: s.withNode(s.getSystem), http.MethodPatch: s.withNode(s.patchSystem)}})
	s.handle(systemsPath+"/{id}/Actions/ComputerSystem.Reset", route{methods: map[string]handler{http.MethodPost: s.withNode(s.reset)}})
	s.handle(systemsPath+"/{id}/Actions/{action}", route{methods: map[string]handler{http.MethodPost: s.withNode(s.unknownAction)}})
	s.handle(systemsPath+"/{id}/EthernetInterfaces", get(s.withNode(s.getInterfaces)))
	s.handle(systemsPath+"/{id}/EthernetInterfaces/{nic}", get(s.withNode(s.getInterface)))
	s.handle(systemsPath+"/{id}/Processors", get(s.withNode(s.getProcessors)))
	s.handle(systemsPath+"/{id}/Processors/{cpu}", get(s.withNode(s.getProcessor)))
	s.handle(managersPath, get(s.collection(managersPath, "ManagerCollection", "Manager Collection")))
	s.handle(managersPath+"/{id}", get(s.withNode(s.getManager)))
	s.vmediaRoutes()
	s.handle(chassisPath, get(s.collection(chassisPath, "ChassisCollection", "Chassis Collection")))
	s.handle(chassisPath+"/{id}", get(s.withNode(s.getChassis)))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, refuse(http.StatusNotFound, "ResourceMissingAtURI", "", r.URL.Path))
	})
}

func odataID(path string) map[string]any { return map[string]any{"@odata.id": path} }

func (s *Server) getRoot(w http.ResponseWriter, _ *http.Request, _ principal) {
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type":    "#ServiceRoot.v1_5_0.ServiceRoot",
		"@odata.id":      rootPath,
		"Id":             "RootService",
		"Name":           "quintupleo Redfish Service",
		"RedfishVersion": "1.8.0",
		"Product":        "quintupleo",
		"Systems":        odataID(systemsPath),
		"Managers":       odataID(managersPath),
		"Chassis":        odataID(chassisPath),
		"SessionService": odataID(sessionSvc),
		"Links":          map[string]any{"Sessions": odataID(sessionsPath)},
	})
}

// nodeIndex finds nodes by the UUID every front end shows (Node.UUID) and
// by name, rebuilt when the inventory's generation changes.
type nodeIndex struct {
	mu     sync.Mutex
	gen    uint64
	built  bool
	byUUID map[string]nodes.Node
	byName map[string][]string // name → UUIDs
}

// lookup is the node a Redfish Id names: its UUID, or (answered with a
// redirect to the UUID's URI by withNode) its unique name.
func (s *Server) lookup(ctx context.Context, id string) (n nodes.Node, byName bool, err error) {
	all, gen, err := s.inv.Nodes(ctx)
	if err != nil {
		return nodes.Node{}, false, err
	}
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.built || ix.gen != gen {
		ix.byUUID = make(map[string]nodes.Node, len(all))
		ix.byName = make(map[string][]string, len(all))
		for _, n := range all {
			u := n.UUID()
			ix.byUUID[u] = n
			ix.byName[n.Name] = append(ix.byName[n.Name], u)
		}
		ix.gen, ix.built = gen, true
	}
	if n, ok := ix.byUUID[strings.ToLower(id)]; ok {
		return n, false, nil
	}
	switch uuids := ix.byName[id]; len(uuids) {
	case 0:
		return nodes.Node{}, false, refuse(http.StatusNotFound, "ResourceNotFound", "", "ComputerSystem", id)
	case 1:
		return ix.byUUID[uuids[0]], true, nil
	default:
		return nodes.Node{}, false, refuse(http.StatusNotFound, "ResourceNotFound",
			"Several systems have this name ("+strings.Join(uuids, ", ")+"); use the UUID.", "ComputerSystem", id)
	}
}

// nodeHandler serves a resource of one node.
type nodeHandler func(w http.ResponseWriter, r *http.Request, p principal, n nodes.Node)

// withNode resolves {id}; a name is redirected (307, so a POST or PATCH is
// repeated as is) to the same URI under the node's UUID, as sushy-tools
// does, so that every resource has one URI and one ETag.
func (s *Server) withNode(h nodeHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		id := r.PathValue("id")
		n, byName, err := s.lookup(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if byName {
			// /redfish/v1/<collection>/<name>[/rest] → the same under the UUID.
			parts := strings.SplitN(r.URL.Path, "/", 6)
			loc := strings.Join(append(parts[:4:4], n.UUID()), "/")
			if len(parts) == 6 {
				loc += "/" + parts[5]
			}
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		h(w, r, p, n)
	}
}

// collection serves Systems, Managers or Chassis: one member per node.
func (s *Server) collection(path, typ, name string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ principal) {
		all, _, err := s.inv.Nodes(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		members := make([]any, 0, len(all))
		for _, n := range all {
			members = append(members, odataID(path+"/"+n.UUID()))
		}
		s.writeJSON(w, http.StatusOK, map[string]any{
			"@odata.type":         "#" + typ + "." + typ,
			"@odata.id":           path,
			"Name":                name,
			"Members":             members,
			"Members@odata.count": len(members),
		})
	}
}

// resetTypes are the ResetType values offered, in the schema's order.
var resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn", "PushPowerButton"}

// bootTargets are the BootSourceOverrideTarget values offered.
var bootTargets = []string{"None", "Pxe", "Hdd", "Cd"}

func (s *Server) getSystem(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	s.writeJSON(w, http.StatusOK, s.system(r.Context(), n))
}

// system is the ComputerSystem resource of n.
func (s *Server) system(ctx context.Context, n nodes.Node) map[string]any {
	u := n.UUID()
	self := systemsPath + "/" + u
	target, enabled := s.bootOverride(n)
	boot := map[string]any{
		"BootSourceOverrideTarget":                          target,
		"BootSourceOverrideTarget@Redfish.AllowableValues":  bootTargets,
		"BootSourceOverrideEnabled":                         enabled,
		"BootSourceOverrideEnabled@Redfish.AllowableValues": []string{"Once", "Continuous", "Disabled"},
	}
	facts := s.images.of(ctx, n.ImageID)
	if facts.mode != "" {
		boot["BootSourceOverrideMode"] = facts.mode
		boot["BootSourceOverrideMode@Redfish.AllowableValues"] = []string{facts.mode}
	}
	sys := map[string]any{
		"@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem",
		"@odata.id":   self,
		"Id":          u,
		"Name":        n.Name,
		"UUID":        u,
		"SystemType":  "Virtual",
		"Model":       n.Flavor.Name,
		"Status":      status(n),
		"PowerState":  powerState(n),
		"Boot":        boot,
		"ProcessorSummary": map[string]any{
			"Count": n.Flavor.VCPUs, "LogicalProcessorCount": n.Flavor.VCPUs, "Status": status(n),
		},
		"MemorySummary": map[string]any{
			"TotalSystemMemoryGiB": float64(n.Flavor.RAMMiB) / 1024, "Status": status(n),
		},
		"Processors":         odataID(self + "/Processors"),
		"EthernetInterfaces": odataID(self + "/EthernetInterfaces"),
		"Links": map[string]any{
			"Chassis":   []any{odataID(chassisPath + "/" + u)},
			"ManagedBy": []any{odataID(managersPath + "/" + u)},
		},
		"Actions": map[string]any{
			"#ComputerSystem.Reset": map[string]any{
				"target":                            self + "/Actions/ComputerSystem.Reset",
				"ResetType@Redfish.AllowableValues": resetTypes,
			},
		},
	}
	return sys
}

// powerState names nodes.PowerStateOf, the decision every front end
// shares; null when Nova says nothing a power state can be read from.
func powerState(n nodes.Node) any {
	switch nodes.PowerStateOf(n) {
	case nodes.PowerOn:
		return "On"
	case nodes.PowerOff:
		return "Off"
	case nodes.PoweringOn:
		return "PoweringOn"
	case nodes.PoweringOff:
		return "PoweringOff"
	}
	return nil
}

func status(n nodes.Node) map[string]any {
	health := "OK"
	if n.Status == "ERROR" {
		health = "Critical"
	}
	return map[string]any{"State": "Enabled", "Health": health}
}

// bootOverride is the node's boot override as Redfish states it: the device
// of its next power-on, and Once while a one-time device is pending.
func (s *Server) bootOverride(n nodes.Node) (target, enabled string) {
	if next, _, once := s.act.BootOnce(n); once {
		return redfishTarget(next), "Once"
	}
	return redfishTarget(s.act.BootDevice(n)), "Continuous"
}

func redfishTarget(dev nodes.BootDevice) string {
	switch dev {
	case nodes.BootNetwork:
		return "Pxe"
	case nodes.BootCD:
		return "Cd"
	}
	return "Hdd"
}

func (s *Server) getInterfaces(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	self := systemsPath + "/" + n.UUID() + "/EthernetInterfaces"
	members := make([]any, 0, len(n.Ports))
	for _, p := range n.Ports {
		members = append(members, odataID(self+"/"+p.MAC))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type": "#EthernetInterfaceCollection.EthernetInterfaceCollection",
		"@odata.id":   self, "Name": "Ethernet Interface Collection",
		"Members": members, "Members@odata.count": len(members),
	})
}

func (s *Server) getInterface(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	mac := strings.ToLower(r.PathValue("nic"))
	for _, p := range n.Ports {
		if strings.ToLower(p.MAC) != mac {
			continue
		}
		s.writeJSON(w, http.StatusOK, map[string]any{
			"@odata.type":         "#EthernetInterface.v1_4_0.EthernetInterface",
			"@odata.id":           systemsPath + "/" + n.UUID() + "/EthernetInterfaces/" + p.MAC,
			"Id":                  p.MAC,
			"Name":                "Port on network " + p.Network,
			"MACAddress":          p.MAC,
			"PermanentMACAddress": p.MAC,
			"Status":              map[string]any{"State": "Enabled", "Health": "OK"},
		})
		return
	}
	s.fail(w, r, refuse(http.StatusNotFound, "ResourceNotFound", "", "EthernetInterface", r.PathValue("nic")))
}

// cpuID is the one Processor of a system: Nova gives a guest its flavor's
// vCPUs, one resource stands for them all.
const cpuID = "CPU1"

func (s *Server) getProcessors(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	self := systemsPath + "/" + n.UUID() + "/Processors"
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type": "#ProcessorCollection.ProcessorCollection",
		"@odata.id":   self, "Name": "Processors Collection",
		"Members": []any{odataID(self + "/" + cpuID)}, "Members@odata.count": 1,
	})
}

func (s *Server) getProcessor(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	if r.PathValue("cpu") != cpuID {
		s.fail(w, r, refuse(http.StatusNotFound, "ResourceNotFound", "", "Processor", r.PathValue("cpu")))
		return
	}
	cpu := map[string]any{
		"@odata.type":   "#Processor.v1_0_0.Processor",
		"@odata.id":     systemsPath + "/" + n.UUID() + "/Processors/" + cpuID,
		"Id":            cpuID,
		"Name":          "vCPUs of flavor " + n.Flavor.Name,
		"ProcessorType": "CPU",
		"TotalCores":    n.Flavor.VCPUs,
		"TotalThreads":  n.Flavor.VCPUs,
		"Status":        status(n),
	}
	if facts := s.images.of(r.Context(), n.ImageID); facts.arch != "" {
		cpu["ProcessorArchitecture"], cpu["InstructionSet"] = facts.arch, facts.instructionSet
	}
	s.writeJSON(w, http.StatusOK, cpu)
}

func (s *Server) getManager(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	u := n.UUID()
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type":  "#Manager.v1_5_0.Manager",
		"@odata.id":    managersPath + "/" + u,
		"Id":           u,
		"Name":         "quintupleo BMC of " + n.Name,
		"ManagerType":  "BMC",
		"UUID":         u,
		"Status":       map[string]any{"State": "Enabled", "Health": "OK"},
		"VirtualMedia": odataID(managersPath + "/" + u + "/VirtualMedia"),
		"Links": map[string]any{
			"ManagerForServers": []any{odataID(systemsPath + "/" + u)},
			"ManagerForChassis": []any{odataID(chassisPath + "/" + u)},
		},
	})
}

func (s *Server) getChassis(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	u := n.UUID()
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type": "#Chassis.v1_5_0.Chassis",
		"@odata.id":   chassisPath + "/" + u,
		"Id":          u,
		"Name":        n.Name,
		"ChassisType": "Other",
		"UUID":        u,
		"PowerState":  powerState(n),
		"Status":      status(n),
		"Links": map[string]any{
			"ComputerSystems": []any{odataID(systemsPath + "/" + u)},
			"ManagedBy":       []any{odataID(managersPath + "/" + u)},
		},
	})
}

// imageFacts are what a node's image says of its machine: the firmware
// (hw_firmware_type → BootSourceOverrideMode) and the architecture. Images
// do not change under a running server, so each is read once.
type imageFacts struct {
	act *nodes.Executor

	mu sync.Mutex
	// mu guards:
	known map[string]imageFact
}

type imageFact struct {
	mode                 string // "UEFI", "Legacy", or "" when unknown
	arch, instructionSet string // "" when the image does not say
}

func newImageFacts(act *nodes.Executor) *imageFacts {
	return &imageFacts{act: act, known: map[string]imageFact{}}
}

// of reads the facts of an image, once. A server without an image (booted
// from a volume) or whose image is gone has no known mode: nothing is made
// up. A failed read is not remembered.
func (f *imageFacts) of(ctx context.Context, imageID string) imageFact {
	if imageID == "" {
		return imageFact{}
	}
	f.mu.Lock()
	fact, ok := f.known[imageID]
	f.mu.Unlock()
	if ok {
		return fact
	}
	img, err := f.act.ImageByID(ctx, imageID)
	if err != nil && !errors.Is(err, nodes.ErrNotFound) {
		return imageFact{}
	}
	if err == nil {
		fact = factsOf(img.Properties)
	}
	f.mu.Lock()
	f.known[imageID] = fact
	f.mu.Unlock()
	return fact
}

// factsOf reads Glance's properties: hw_firmware_type (Nova boots BIOS
// unless it says uefi) and architecture / hw_architecture.
func factsOf(props map[string]string) imageFact {
	fact := imageFact{mode: "Legacy"}
	if props["hw_firmware_type"] == "uefi" {
		fact.mode = "UEFI"
	}
	arch := props["hw_architecture"]
	if arch == "" {
		arch = props["architecture"]
	}
	switch arch {
	case "x86_64":
		fact.arch, fact.instructionSet = "x86", "x86-64"
	case "aarch64":
		fact.arch, fact.instructionSet = "ARM", "ARM-A64"
	}
	return fact
}
