package redfish_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// The resources Ironic and sushy follow, with the fields they read: the
// root (open to anonymous clients), one System per node whose Id is the
// node's UUID, its NICs, processors, Manager and Chassis.
func TestResourcesIronicFollows(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 2})
	defined := "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	if _, err := e.sim.CreateServer(cloudsim.ServerSpec{Name: "defined", MAC: "52:54:00:aa:bb:cc",
		Metadata: map[string]string{"libvirt:uuid": defined}}); err != nil {
		t.Fatal(err)
	}
	e.refresh(t)

	root := e.do(t, http.MethodGet, "/redfish/v1/", "", "", "")
	if root.status != 200 || root.body["Systems"].(map[string]any)["@odata.id"] != "/redfish/v1/Systems" ||
		root.body["Links"].(map[string]any)["Sessions"].(map[string]any)["@odata.id"] != "/redfish/v1/SessionService/Sessions" {
		t.Fatalf("service root: %d %s", root.status, root.raw)
	}
	if _, has := root.body["UpdateService"]; has {
		t.Error("service root links an UpdateService")
	}

	systems := e.get(t, "/redfish/v1/Systems")
	if n := systems.body["Members@odata.count"]; n != 3.0 {
		t.Fatalf("Systems: %v members: %s", n, systems.raw)
	}
	// The UUID a node was defined with through the libvirt front is its Id.
	if sys := e.get(t, "/redfish/v1/Systems/"+defined); sys.status != 200 || sys.body["Id"] != defined || sys.body["Name"] != "defined" {
		t.Errorf("system by libvirt UUID: %d %s", sys.status, sys.raw)
	}

	path := e.systemPath(t, "node-1")
	id := strings.TrimPrefix(path, "/redfish/v1/Systems/")
	sys := e.get(t, path)
	if sys.status != 200 || sys.header.Get("ETag") == "" {
		t.Fatalf("GET %s: %d, ETag %q", path, sys.status, sys.header.Get("ETag"))
	}
	want := map[string]any{"Id": id, "UUID": id, "Name": "node-1", "PowerState": "Off", "@odata.id": path}
	for k, v := range want {
		if sys.body[k] != v {
			t.Errorf("%s = %v, want %v", k, sys.body[k], v)
		}
	}
	boot := sys.body["Boot"].(map[string]any)
	if boot["BootSourceOverrideTarget"] != "Hdd" || boot["BootSourceOverrideEnabled"] != "Continuous" || boot["BootSourceOverrideMode"] != "Legacy" {
		t.Errorf("Boot = %v", boot)
	}
	reset := sys.body["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)
	if reset["target"] != path+"/Actions/ComputerSystem.Reset" || len(reset["ResetType@Redfish.AllowableValues"].([]any)) != 8 {
		t.Errorf("Reset action = %v", reset)
	}
	if got := sys.body["MemorySummary"].(map[string]any)["TotalSystemMemoryGiB"]; got != 4.0 {
		t.Errorf("TotalSystemMemoryGiB = %v", got)
	}

	nics := e.get(t, path+"/EthernetInterfaces")
	members := nics.body["Members"].([]any)
	mac := e.macOf(t, "node-1")
	if len(members) != 1 || members[0].(map[string]any)["@odata.id"] != path+"/EthernetInterfaces/"+mac {
		t.Fatalf("EthernetInterfaces = %s", nics.raw)
	}
	if nic := e.get(t, path+"/EthernetInterfaces/"+mac); nic.body["MACAddress"] != mac {
		t.Errorf("EthernetInterface = %s", nic.raw)
	}
	if cpu := e.get(t, path+"/Processors/CPU1"); cpu.body["TotalThreads"] != 2.0 {
		t.Errorf("Processor = %s", cpu.raw)
	}
	mgr := sys.body["Links"].(map[string]any)["ManagedBy"].([]any)[0].(map[string]any)["@odata.id"].(string)
	if m := e.get(t, mgr); m.status != 200 || m.body["ManagerType"] != "BMC" {
		t.Errorf("GET %s: %d %s", mgr, m.status, m.raw)
	}
	ch := sys.body["Links"].(map[string]any)["Chassis"].([]any)[0].(map[string]any)["@odata.id"].(string)
	if c := e.get(t, ch); c.status != 200 || c.body["PowerState"] != "Off" {
		t.Errorf("GET %s: %d %s", ch, c.status, c.raw)
	}

	// A name is redirected to the UUID's URI, the rest of the path kept.
	r := e.get(t, "/redfish/v1/Systems/node-1/EthernetInterfaces")
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != path+"/EthernetInterfaces" {
		t.Errorf("by name: %d, Location %q", r.status, r.header.Get("Location"))
	}
}

func (e *env) macOf(t *testing.T, name string) string {
	t.Helper()
	info, _ := e.sim.Server(name)
	if len(info.MACs) == 0 {
		t.Fatalf("%s has no port", name)
	}
	return info.MACs[0]
}

// Ironic's power sync reads every System: served from the shared cache, 100
// GETs of a System (and of the collection) send nothing to the cloud.
func TestGetsCostTheCloudNothing(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 10})
	path := e.systemPath(t, "node-3")
	e.get(t, path) // reads the image's firmware, once
	e.sim.ResetCounters()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.get(t, path); r.status != 200 || r.body["PowerState"] != "Off" {
				t.Errorf("GET: %d %s", r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	e.get(t, "/redfish/v1/Systems")
	if reqs := e.sim.Requests(); len(reqs) != 0 {
		t.Errorf("101 GETs sent %d requests to the cloud, want none; first: %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
	}
}

// Every refusal is a Redfish error body citing the Base registry, and
// changes nothing in the cloud.
func TestRefusalsAreRedfishErrors(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 1})
	path := e.systemPath(t, "node-0")
	reset := path + "/Actions/ComputerSystem.Reset"
	etag := e.get(t, path).header.Get("ETag")
	e.sim.ResetCounters()
	for _, c := range []struct {
		name               string
		method, path, user string
		body               string
		header             []string
		status             int
		message            string
	}{
		{"no credentials", "GET", path, "", "", nil, 401, "NoValidSession"},
		{"wrong password", "GET", path, "wrong", "", nil, 401, "NoValidSession"},
		{"read-only PATCH", "PATCH", path, readerUser, `{"Boot":{"BootSourceOverrideTarget":"Pxe"}}`, nil, 403, "InsufficientPrivilege"},
		{"read-only Reset", "POST", reset, readerUser, `{"ResetType":"On"}`, nil, 403, "InsufficientPrivilege"},
		{"bad JSON", "PATCH", path, adminUser, `{"Boot":`, nil, 400, "MalformedJSON"},
		{"not an object", "POST", reset, adminUser, `["On"]`, nil, 400, "MalformedJSON"},
		{"unknown property", "PATCH", path, adminUser, `{"Bios":{}}`, nil, 400, "PropertyUnknown"},
		{"unknown Boot property", "PATCH", path, adminUser, `{"Boot":{"HttpBootUri":"http://x"}}`, nil, 400, "PropertyUnknown"},
		{"read-only property", "PATCH", path, adminUser, `{"PowerState":"On"}`, nil, 400, "PropertyNotWritable"},
		{"Cd without virtual media", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideTarget":"Cd"}}`, nil, 400, "PropertyValueConflict"},
		{"target not offered", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideTarget":"Floppy"}}`, nil, 400, "PropertyValueNotInList"},
		{"enabled not offered", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideEnabled":"Sometimes"}}`, nil, 400, "PropertyValueNotInList"},
		{"boot mode cannot change", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideMode":"UEFI"}}`, nil, 400, "PropertyValueNotInList"},
		{"wrong type", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideTarget":1}}`, nil, 400, "PropertyValueTypeError"},
		{"wrong ETag", "PATCH", path, adminUser, `{"Boot":{"BootSourceOverrideTarget":"Pxe"}}`, []string{"If-Match", `"0000"`}, 412, "PreconditionFailed"},
		{"Nmi while Off", "POST", reset, adminUser, `{"ResetType":"Nmi"}`, nil, 409, "ResourceInUse"},
		{"unknown reset type", "POST", reset, adminUser, `{"ResetType":"Explode"}`, nil, 400, "PropertyValueNotInList"},
		{"no reset type", "POST", reset, adminUser, `{}`, nil, 400, "ActionParameterMissing"},
		{"extra parameter", "POST", reset, adminUser, `{"ResetType":"On","Delay":3}`, nil, 400, "ActionParameterUnknown"},
		{"unknown action", "POST", path + "/Actions/ComputerSystem.AddResourceBlock", adminUser, `{}`, nil, 400, "ActionNotSupported"},
		{"method not allowed", "DELETE", path, adminUser, "", nil, 405, "OperationNotAllowed"},
		{"no UpdateService", "GET", "/redfish/v1/UpdateService", adminUser, "", nil, 404, "ResourceMissingAtURI"},
		{"unknown system", "GET", "/redfish/v1/Systems/no-such-node", adminUser, "", nil, 404, "ResourceNotFound"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pass := map[string]string{adminUser: adminPass, readerUser: readerPass, "wrong": "nope"}[c.user]
			if c.user == "wrong" {
				c.user = adminUser
			}
			r := e.do(t, c.method, c.path, c.user, pass, c.body, c.header...)
			if r.status != c.status || r.messageID() != "Base.1.8."+c.message {
				t.Errorf("%d %s, want %d Base.1.8.%s", r.status, r.raw, c.status, c.message)
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if n := e.sim.Count(""); n != 0 {
		t.Errorf("the refusals sent %d requests to the cloud, want none: %v", n, e.sim.Counters())
	}

	// The right ETag, an unchanged boot mode, and a read-only GET pass.
	if r := e.do(t, "PATCH", path, adminUser, adminPass, `{"Boot":{"BootSourceOverrideMode":"Legacy"}}`, "If-Match", etag); r.status != 204 {
		t.Errorf("PATCH with the current ETag: %d %s", r.status, r.raw)
	}
	if r := e.do(t, "GET", path, readerUser, readerPass, ""); r.status != 200 {
		t.Errorf("read-only GET: %d %s", r.status, r.raw)
	}
}

// Reset answers once Nova accepted the action, before the node got there;
// PowerState then converges. One request, one action.
func TestResetAnswersOnAcceptance(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 1, TransitionDelay: 300 * time.Millisecond})
	path := e.systemPath(t, "node-0")
	e.sim.ResetCounters()
	start := time.Now()
	if r := e.do(t, "POST", path+"/Actions/ComputerSystem.Reset", adminUser, adminPass, `{"ResetType":"On"}`); r.status != 204 {
		t.Fatalf("Reset On: %d %s", r.status, r.raw)
	}
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("Reset On took %s: it waited for the node", took)
	}
	if info, _ := e.sim.Server("node-0"); info.Status == "ACTIVE" && info.TaskState == "" {
		t.Errorf("the node was already ACTIVE when Reset answered")
	}
	deadline := time.Now().Add(10 * time.Second)
	var states []string
	for {
		ps, _ := e.get(t, path).body["PowerState"].(string)
		if len(states) == 0 || states[len(states)-1] != ps {
			states = append(states, ps)
		}
		if ps == "On" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PowerState went %v, never On", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Contains(states, "PoweringOn") {
		t.Logf("PowerState went %v", states)
	}
	// Already on: success, and no action.
	if r := e.do(t, "POST", path+"/Actions/ComputerSystem.Reset", adminUser, adminPass, `{"ResetType":"ForceOn"}`); r.status != 204 {
		t.Errorf("ForceOn of a running node: %d %s", r.status, r.raw)
	}
	if n := e.sim.Count("os-start"); n != 1 {
		t.Errorf("%d os-start for one Reset On (and a ForceOn of a running node), want 1", n)
	}
	// Each action is one log line: who, what, which System, its cloud
	// requests, how long, the status answered.
	id := path[strings.LastIndex(path, "/")+1:]
	var lines []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, `msg="redfish: action"`) {
			lines = append(lines, l)
		}
	}
	want := regexp.MustCompile(`remote=127\.0\.0\.1:\d+ user=` + adminUser + ` method=POST path=\S+/Actions/ComputerSystem\.Reset system=` + id +
		` cloud_calls=[1-9]\d* duration=\S+ status=204`)
	if len(lines) != 2 || !want.MatchString(lines[0]) || !strings.Contains(lines[1], "status=204") {
		t.Errorf("action lines for Reset On and ForceOn:\n%s", strings.Join(lines, "\n"))
	}
}

// An Nmi the cloud refuses whatever the server's state (here a hypervisor
// without NMI: Nova's 400) is a Redfish ActionNotSupported with Nova's
// reason, sent once; the node stays as it was.
func TestNmiTheCloudCannotDo(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 1, Faults: []cloudsim.Fault{
		{Endpoint: "trigger_crash_dump", ErrorRate: 1, Status: http.StatusBadRequest}}})
	if err := e.sim.SetPower("node-0", true); err != nil {
		t.Fatal(err)
	}
	e.refresh(t)
	e.sim.ResetCounters()
	path := e.systemPath(t, "node-0")
	r := e.do(t, "POST", path+"/Actions/ComputerSystem.Reset", adminUser, adminPass, `{"ResetType":"Nmi"}`)
	if r.status != 400 || r.messageID() != "Base.1.8.ActionNotSupported" || !strings.Contains(r.raw, "trigger_crash_dump") {
		t.Errorf("Nmi refused by the cloud: %d %s", r.status, r.raw)
	}
	if n := e.sim.Count("trigger_crash_dump"); n != 1 {
		t.Errorf("%d trigger_crash_dump requests, want 1", n)
	}
	if ps := e.get(t, path).body["PowerState"]; ps != "On" {
		t.Errorf("PowerState after the refused Nmi: %v", ps)
	}
}

// A session: log in, use the token, log out; the token then is refused. A
// read-only account's session reads but does not write.
func TestSessions(t *testing.T) {
	e := newEnv(t, cloudsim.Options{Nodes: 1})
	path := e.systemPath(t, "node-0")
	login := func(user, pass string) (token, location string) {
		r := e.do(t, "POST", "/redfish/v1/SessionService/Sessions", "", "", `{"UserName":"`+user+`","Password":"`+pass+`"}`)
		if r.status != 201 || r.header.Get("X-Auth-Token") == "" || r.body["UserName"] != user {
			t.Fatalf("login %s: %d %s", user, r.status, r.raw)
		}
		return r.header.Get("X-Auth-Token"), r.header.Get("Location")
	}
	token, loc := login(adminUser, adminPass)
	if r := e.do(t, "GET", path, "", "", "", "X-Auth-Token", token); r.status != 200 {
		t.Errorf("GET with the token: %d %s", r.status, r.raw)
	}
	if r := e.do(t, "DELETE", loc, "", "", "", "X-Auth-Token", token); r.status != 204 {
		t.Errorf("logout: %d %s", r.status, r.raw)
	}
	if r := e.do(t, "GET", path, "", "", "", "X-Auth-Token", token); r.status != 401 || r.messageID() != "Base.1.8.NoValidSession" {
		t.Errorf("GET after logout: %d %s", r.status, r.raw)
	}
	if r := e.do(t, "POST", "/redfish/v1/SessionService/Sessions", "", "", `{"UserName":"admin","Password":"bad"}`); r.status != 401 {
		t.Errorf("login with a wrong password: %d %s", r.status, r.raw)
	}

	token, loc = login(readerUser, readerPass)
	if r := e.do(t, "PATCH", path, "", "", `{"Boot":{"BootSourceOverrideTarget":"Pxe"}}`, "X-Auth-Token", token); r.status != 403 {
		t.Errorf("read-only session PATCH: %d %s", r.status, r.raw)
	}
	if r := e.do(t, "DELETE", loc, "", "", "", "X-Auth-Token", token); r.status != 204 {
		t.Errorf("read-only logout: %d %s", r.status, r.raw)
	}
}
