package cloudsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Nova vm_states, task_states and power states used by the sim.
const (
	vmActive   = "active"
	vmBuilding = "building"
	vmStopped  = "stopped"
	vmRescued  = "rescued"
	vmError    = "error"
	vmDeleted  = "deleted"
	vmPaused   = "paused"
	vmSuspend  = "suspended"

	powerNoState  = 0
	powerRunning  = 1
	powerPaused   = 3
	powerShutdown = 4
)

// Fixed identities of the simulated deployment.
const (
	computeHost   = "sim-compute"
	availZone     = "nova"
	metadataQuota = 128 // Nova's default quota_metadata_items
)

type flavor struct {
	ID, Name                          string
	VCPUs, RAM, Disk, Ephemeral, Swap int
	ExtraSpecs                        map[string]string
}

type image struct {
	ID, Name, Status, DiskFormat, ContainerFormat, Visibility string
	Size                                                      int64
	Props                                                     map[string]string
	Created, Updated                                          time.Time
	Checksum, HashValue                                       string
}

type network struct {
	ID, Name         string
	ProjectID        string // "" = the sim's project
	Shared           bool
	NoPortSecurity   bool // port_security_enabled false, for the network and its ports
	Description      string
	AdminDown        bool // admin_state_up false
	Subnets          []string
	Created, Updated time.Time
	Revision         int
}

type subnet struct {
	ID, Name, NetworkID string
	Prefix              netip.Prefix
	Gateway             string // "" = null
	EnableDHCP          bool
	Pools               [][2]string // allocation pools given at create; nil = the whole prefix
	Created, Updated    time.Time
	Revision            int
	next                netip.Addr // next address to hand out
}

type fixedIP struct {
	IP, SubnetID string
}

type port struct {
	ID, Name, NetworkID, MAC string
	FixedIPs                 []fixedIP
	DeviceID, DeviceOwner    string
	HostID                   string
	Created, Updated         time.Time
	Revision                 int
	novaMade                 bool // created by Nova for a {"uuid": net} request: deleted with the server
}

// serverVolume is an attached volume as Nova's os-extended-volumes shows it.
type serverVolume struct {
	ID                  string
	DeleteOnTermination bool
}

type fault struct {
	Code    int
	Message string
	Details string
	Created time.Time
}

type server struct {
	ID, Name      string
	Num           int // instance number: instance-%08x
	Flavor        flavor
	ImageID       string
	VMState       string
	TaskState     string // "" = null
	PowerState    int
	Metadata      map[string]string
	Ports         []string
	Created       time.Time
	Updated       time.Time
	LaunchedAt    time.Time // zero = null
	TerminatedAt  time.Time // zero = null
	ReservationID string
	Fault         *fault
	Deleted       bool // vm_state deleted: listed by changes-since / deleted=true
	Purged        bool // GET /servers/{id} answers 404
	Description   *string
	Tags          []string       // sorted (2.26+)
	Volumes       []serverVolume // attached volumes (boot from volume)
	RescueImageID string         // the image a rescued server runs from ("" = its own, or not rescued)

	// task machinery
	gen      int         // bumped when a task starts or is superseded
	timer    *time.Timer // the pending step, nil when idle
	failNext string      // non-empty: the next action ends in ERROR with this message

	// render cache for list pages, keyed by microversion|base URL
	cache map[string][]byte
}

// touch records a change: updated moves (at Nova's one-second resolution) and
// the render cache is dropped.
func (v *server) touch(now time.Time) {
	v.Updated = now.UTC().Truncate(time.Second)
	v.cache = nil
}

// state is the whole cloud. Guarded by Sim.mu.
type state struct {
	projectID, userID string
	flavors           []*flavor
	images            []*image
	networks          []*network
	subnets           []*subnet
	ports             []*port
	servers           []*server // creation order (Nova sorts by created_at desc, id desc)
	byID              map[string]*server
	serverIndex       map[string]int // id → index in servers
	nextNum           int
	secGroupID        string
	roleIDs           [3]string
	endpointIDs       [24]string // 3 per service (public, internal, admin), then one per service

	volumes         []*volume // creation order
	volumeTypes     []*volumeType
	volumeServiceID string
}

func newState(now time.Time) *state {
	st := &state{
		projectID:   hexID(),
		userID:      hexID(),
		byID:        make(map[string]*server),
		serverIndex: make(map[string]int),
		nextNum:     1,
		secGroupID:  uuid(),
	}
	for i := range st.roleIDs {
		st.roleIDs[i] = hexID()
	}
	for i := range st.endpointIDs {
		st.endpointIDs[i] = hexID()
	}
	st.volumeTypes = []*volumeType{{ID: uuid(), Name: defaultType, Description: "Default Volume Type"}}
	st.volumeServiceID = uuid()
	st.flavors = []*flavor{
		{ID: uuid(), Name: "m1.tiny", VCPUs: 1, RAM: 64, Disk: 1},
		{ID: uuid(), Name: "m1.small", VCPUs: 1, RAM: 512, Disk: 1},
		{ID: uuid(), Name: "baremetal", VCPUs: 2, RAM: 4096, Disk: 10},
	}
	st.addImage(&image{Name: "ipxe-boot", DiskFormat: "raw", ContainerFormat: "bare", Visibility: "public",
		Size: 65536, Props: map[string]string{"hw_firmware_type": "bios"}}, now)
	st.addImage(&image{Name: "fake-image", DiskFormat: "raw", ContainerFormat: "bare", Visibility: "public",
		Size: 65536, Props: map[string]string{}}, now)
	return st
}

func (st *state) addImage(im *image, now time.Time) *image {
	if im.ID == "" {
		im.ID = uuid()
	}
	if im.Status == "" {
		im.Status = "active"
	}
	if im.Props == nil {
		im.Props = map[string]string{}
	}
	im.Created = now.UTC().Truncate(time.Second)
	im.Updated = im.Created
	if im.Status == "active" {
		sum := sha256.Sum256([]byte(im.ID))
		im.Checksum = hex.EncodeToString(sum[:16])
		im.HashValue = hex.EncodeToString(sum[:]) + hex.EncodeToString(sum[:])
	}
	st.images = append(st.images, im)
	return im
}

// fixture builds realcloud's nodes.sh N fixture.
func (st *state) fixture(n int, now time.Time) error {
	net := st.addNetwork("provision", now)
	if _, err := st.addSubnet(net, "provision-subnet", "10.128.0.0/16", "", false, now); err != nil {
		return err
	}
	fl := st.flavorByName("baremetal")
	img := st.imageByName("ipxe-boot")
	for i := range n {
		p, nerr := st.addPort(net, fmt.Sprintf("node-%d-port", i), nodeMAC(i), now)
		if nerr != nil {
			return fmt.Errorf("cloudsim: fixture: %s", nerr.msg)
		}
		v := st.newServer(fmt.Sprintf("node-%d", i), fl, img.ID, nil, now)
		st.bindPort(p, v, now)
		v.VMState, v.TaskState, v.PowerState = vmStopped, "", powerShutdown
		v.LaunchedAt = now.UTC()
	}
	return nil
}

// nodeMAC is the fixture MAC of node i: 52:54:00 + i as three bytes.
func nodeMAC(i int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", (i>>16)&255, (i>>8)&255, i&255)
}

func (st *state) addNetwork(name string, now time.Time) *network {
	t := now.UTC().Truncate(time.Second)
	n := &network{ID: uuid(), Name: name, Created: t, Updated: t, Revision: 1}
	st.networks = append(st.networks, n)
	return n
}

func (st *state) addSubnet(n *network, name, cidr, gw string, dhcp bool, now time.Time) (*subnet, error) {
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || !pfx.Addr().Is4() {
		return nil, fmt.Errorf("invalid cidr %q", cidr)
	}
	pfx = pfx.Masked()
	t := now.UTC().Truncate(time.Second)
	sn := &subnet{ID: uuid(), Name: name, NetworkID: n.ID, Prefix: pfx, Gateway: gw, EnableDHCP: dhcp,
		Created: t, Updated: t, Revision: 0, next: pfx.Addr().Next().Next()}
	st.subnets = append(st.subnets, sn)
	n.Subnets = append(n.Subnets, sn.ID)
	n.Revision++
	return sn, nil
}

// allocIP hands out the next free address of sn ("" when exhausted).
func (st *state) allocIP(sn *subnet) string {
	a := sn.next
	if !sn.Prefix.Contains(a) || !sn.Prefix.Contains(a.Next()) {
		return ""
	}
	sn.next = a.Next()
	return a.String()
}

// addPort creates a port; the error is Neutron's MacAddressInUse.
func (st *state) addPort(n *network, name, mac string, now time.Time) (*port, *apiError) {
	if mac == "" {
		mac = randomMAC()
	}
	for _, p := range st.ports {
		if p.NetworkID == n.ID && p.MAC == mac {
			return nil, neutronErr(409, "MacAddressInUse",
				fmt.Sprintf("Unable to complete operation for network %s. The mac address %s is in use.", n.ID, mac))
		}
	}
	t := now.UTC().Truncate(time.Second)
	p := &port{ID: uuid(), Name: name, NetworkID: n.ID, MAC: mac, Created: t, Updated: t, Revision: 1,
		FixedIPs: []fixedIP{}}
	for _, sid := range n.Subnets {
		if sn := st.subnetByID(sid); sn != nil {
			if ip := st.allocIP(sn); ip != "" {
				p.FixedIPs = append(p.FixedIPs, fixedIP{IP: ip, SubnetID: sn.ID})
			}
		}
	}
	st.ports = append(st.ports, p)
	return p, nil
}

func (st *state) bindPort(p *port, v *server, now time.Time) {
	p.DeviceID, p.DeviceOwner, p.HostID = v.ID, "compute:nova", computeHost
	p.Revision += 2
	p.Updated = now.UTC().Truncate(time.Second)
	v.Ports = append(v.Ports, p.ID)
}

func (st *state) unbindPort(p *port, now time.Time) {
	p.DeviceID, p.DeviceOwner, p.HostID = "", "", ""
	p.Revision++
	p.Updated = now.UTC().Truncate(time.Second)
}

func (st *state) deletePort(id string) {
	for i, p := range st.ports {
		if p.ID == id {
			st.ports = append(st.ports[:i], st.ports[i+1:]...)
			return
		}
	}
}

// newServer registers a server in BUILD/building/scheduling.
func (st *state) newServer(name string, fl *flavor, imageID string, md map[string]string, now time.Time) *server {
	if md == nil {
		md = map[string]string{}
	}
	t := now.UTC().Truncate(time.Second)
	v := &server{
		ID: uuid(), Name: name, Num: st.nextNum, Flavor: *fl, ImageID: imageID,
		VMState: vmBuilding, TaskState: "scheduling", PowerState: powerNoState,
		Metadata: md, Created: t, Updated: t, ReservationID: "r-" + randAlnum(8),
	}
	st.nextNum++
	st.serverIndex[v.ID] = len(st.servers)
	st.servers = append(st.servers, v)
	st.byID[v.ID] = v
	return v
}

func (st *state) flavorByName(name string) *flavor {
	for _, f := range st.flavors {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func (st *state) flavorByRef(ref string) *flavor {
	for _, f := range st.flavors {
		if f.ID == ref {
			return f
		}
	}
	return nil
}

func (st *state) imageByName(name string) *image {
	for _, im := range st.images {
		if im.Name == name {
			return im
		}
	}
	return nil
}

func (st *state) imageByID(id string) *image {
	for _, im := range st.images {
		if im.ID == id {
			return im
		}
	}
	return nil
}

func (st *state) networkByID(id string) *network {
	for _, n := range st.networks {
		if n.ID == id {
			return n
		}
	}
	return nil
}

func (st *state) networkByName(name string) *network {
	for _, n := range st.networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (st *state) subnetByID(id string) *subnet {
	for _, sn := range st.subnets {
		if sn.ID == id {
			return sn
		}
	}
	return nil
}

func (st *state) portByID(id string) *port {
	for _, p := range st.ports {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// stopTimers disarms every pending transition (Close).
func (st *state) stopTimers(wg *sync.WaitGroup) {
	for _, v := range st.servers {
		if v.timer != nil && v.timer.Stop() {
			wg.Done()
		}
		v.timer = nil
	}
	for _, v := range st.volumes {
		if v.timer != nil && v.timer.Stop() {
			wg.Done()
		}
		v.timer = nil
	}
}

// hostID is Nova's hostId: sha224(project_id + host).
func (st *state) hostID() string {
	sum := sha256.Sum224([]byte(st.projectID + computeHost))
	return hex.EncodeToString(sum[:])
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func hexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func randAlnum(n int) string {
	const abc = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = abc[int(b[i])%len(abc)]
	}
	return string(b)
}

func randomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}
