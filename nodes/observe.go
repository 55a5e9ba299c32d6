package nodes

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"quintupleo/internal/actionlog"
	"quintupleo/nodes/cinder"
	"quintupleo/nodes/neutron"
)

// Observer is told what the node model does, for the operator's metrics
// (cmd wires one over Prometheus; the node model imports no metrics
// library). Its methods are called on hot paths and from many goroutines:
// they must be quick and safe for concurrent use.
type Observer interface {
	// CloudRequest is one HTTP request to the cloud: the service of the
	// catalog it went to ("compute", "identity", …), its method and path
	// with the IDs replaced by {id} (EndpointOf), and the answer's status
	// (0 when none came: refused, reset, deadline).
	CloudRequest(service, endpoint string, status int, took time.Duration)
	// Refreshed is one refresh of the inventory, with the nodes it holds
	// afterwards counted by Nova status when it succeeded (nil when not).
	Refreshed(took time.Duration, err error, byStatus map[string]int)
	// ActionStarted is a change to the cloud that begins: a server action
	// of the Executor (Action.String's name), or one of the other changes
	// ObservedActions lists (a server's creation or deletion, a metadata
	// write, virtual media, a Neutron network, a Cinder volume); done is
	// called once it has ended — reached its target state, waits included,
	// or failed — with its error. Each change is reported once: one made of
	// others (a creation's ports, its os-stop) does not report them too.
	ActionStarted(action string) (done func(err error))
	// ConflictRetried is a 409 the Executor rides out by sending again.
	ConflictRetried(action string)
	// ChangeDropped is a change an inventory subscriber lost (its queue
	// was full).
	ChangeDropped()
}

// The names of the changes ActionStarted is told of beside the Executor's
// server actions: a bounded set, since each is a label value of a metric.
const (
	// actCreateServer is Provisioner.Create (libvirt's define and create):
	// the ports, the server, its build, the os-stop of a define, and the
	// undo of a failed one.
	actCreateServer = "create_server"
	// actDeleteServer is Provisioner.Delete (undefine, the deletion of a
	// transient domain that stopped, the debris sweep): the server, the
	// wait for its volumes' release, its ports.
	actDeleteServer = "delete_server"
	// actDeletePort is the debris sweep deleting a port of ours no server
	// holds.
	actDeletePort = "delete_port"
	// actSetMetadata, actDeleteMetadata and actReplaceMetadata are the
	// metadata writes (boot device, marks, libvirt's title and
	// <metadata>); actSetDescription the description (the boot-device
	// mark of a rescued server).
	actSetMetadata     = "set_metadata"
	actDeleteMetadata  = "delete_metadata"
	actReplaceMetadata = "replace_metadata"
	actSetDescription  = "set_description"
	// actInsertMedia is a virtual CD's insertion: the Glance image
	// created, imported from its URL, and recorded in the metadata;
	// actDeleteMediaImage the image's deletion at the eject.
	actInsertMedia      = "insert_media"
	actDeleteMediaImage = "delete_media_image"
	// actCrashDump is Nova's trigger_crash_dump (an NMI).
	actCrashDump = "trigger_crash_dump"
)

// ObservedActions lists every action name ActionStarted can be given: the
// Executor's server actions, the other changes of nodes, and those of
// nodes/neutron and nodes/cinder, whose clients nodes builds with its
// Observer.
func ObservedActions() []string {
	var out []string
	for _, spec := range actions() {
		out = append(out, spec.name)
	}
	out = append(out, actCreateServer, actDeleteServer, actDeletePort, actSetMetadata, actDeleteMetadata,
		actReplaceMetadata, actSetDescription, actInsertMedia, actDeleteMediaImage, actCrashDump)
	out = append(out, neutron.Actions()...)
	out = append(out, cinder.Actions()...)
	slices.Sort(out)
	return out
}

// nopObserver is the Observer of a Cloud given none.
type nopObserver struct{}

func (nopObserver) CloudRequest(string, string, int, time.Duration) {}
func (nopObserver) Refreshed(time.Duration, error, map[string]int)  {}
func (nopObserver) ActionStarted(string) func(error)                { return func(error) {} }
func (nopObserver) ConflictRetried(string)                          {}
func (nopObserver) ChangeDropped()                                  {}

// observer is c's Observer, never nil (a Cloud built by hand has none).
func (c *Cloud) observer() Observer {
	if c == nil || c.obs == nil {
		return nopObserver{}
	}
	return c.obs
}

// servicePrefix maps a URL prefix of the catalog to its service type.
type servicePrefix struct{ prefix, service string }

// observeTransport reports every request to the Observer and counts it
// towards the client action whose context it carries (actionlog), so the
// action's log line can say how many cloud calls it cost. The service
// prefixes are known only once the catalog has been read (setServices);
// until then only the identity endpoint is.
type observeTransport struct {
	next     http.RoundTripper
	obs      Observer
	services *atomic.Pointer[[]servicePrefix]
}

func (t observeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	actionlog.CountRequest(req.Context())
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	service, path := t.serviceOf(req.URL)
	t.obs.CloudRequest(service, req.Method+" "+EndpointOf(path), status, time.Since(start))
	return resp, err
}

// serviceOf finds the service of u by the longest catalog prefix, and the
// path below it; "other" and u's whole path when no prefix matches.
func (t observeTransport) serviceOf(u *url.URL) (service, path string) {
	full := u.Scheme + "://" + u.Host + u.Path
	best := servicePrefix{service: "other"}
	if ps := t.services.Load(); ps != nil {
		for _, p := range *ps {
			if strings.HasPrefix(full, p.prefix) && len(p.prefix) > len(best.prefix) {
				best = p
			}
		}
	}
	if best.prefix == "" {
		return best.service, u.Path
	}
	return best.service, full[len(best.prefix):]
}

// setServices records the catalog's endpoints (each service client's) for
// serviceOf.
func (t observeTransport) setServices(identity string, clients ...*gophercloud.ServiceClient) {
	ps := []servicePrefix{{prefix: strings.TrimSuffix(identity, "/"), service: "identity"}}
	for _, c := range clients {
		if c != nil {
			ps = append(ps, servicePrefix{prefix: strings.TrimSuffix(c.Endpoint, "/"), service: c.Type})
		}
	}
	t.services.Store(&ps)
}

// EndpointOf is path with every segment that names an object (a UUID, a
// numeric id, a flavor name like m1.small) replaced by {id}, so that the
// endpoints of a metric are a handful per service, not one per server.
func EndpointOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if namesObject(s) {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// namesObject: a segment with a digit names an object, but for API
// versions ("v2.1", "v3"); collections and actions are words.
func namesObject(seg string) bool {
	if !strings.ContainsAny(seg, "0123456789") {
		return false
	}
	v, ok := strings.CutPrefix(seg, "v")
	return !ok || strings.Trim(v, "0123456789.") != ""
}

// countStatuses counts nodes by Nova status, for Observer.Refreshed.
func countStatuses(nodes map[string]Node) map[string]int {
	by := map[string]int{}
	for _, n := range nodes {
		by[n.Status]++
	}
	return by
}
