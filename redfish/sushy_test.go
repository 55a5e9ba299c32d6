package redfish_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// sushy runs one step of testdata/sushy_drive.py (Debian's python3-sushy,
// the library of Ironic's redfish driver) as user and decodes what it saw.
func (e *env) sushy(t *testing.T, py, user, pass, system, step string, args ...string) map[string]any {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "sushy_drive.py"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := testtool.Run(t, exec.CommandContext(t.Context(), py, append([]string{script, e.url, user, pass, system, step}, args...)...))
	if code != 0 {
		t.Fatalf("sushy step %s: exit %d\n%s%s", step, code, stdout, stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("sushy step %s: %v\n%s", step, err, stdout)
	}
	return out
}

// metadata is a server's metadata in cloudsim: the cloud's own record.
func (e *env) metadata(t *testing.T, name string) map[string]string {
	t.Helper()
	info, ok := e.sim.Server(name)
	if !ok {
		t.Fatalf("no server %s", name)
	}
	return info.Metadata
}

// TestSushy drives the endpoint with sushy over cloudsim: every resource
// Ironic reads, every reset type, the boot override Once (spent by the next
// power-on, in the cloud's record) and Continuous, and the refusals.
func TestSushy(t *testing.T) {
	py := testtool.DebianPython(t, "sushy", "python3-sushy")
	e := newEnv(t, cloudsim.Options{Nodes: 3})
	path := e.systemPath(t, "node-1")
	id := strings.TrimPrefix(path, "/redfish/v1/Systems/")
	run := func(step string) map[string]any { return e.sushy(t, py, adminUser, adminPass, path, step) }

	t.Run("inspect", func(t *testing.T) {
		got := run("inspect")
		want := map[string]any{
			"session": true, "systems": 3.0, "managers": 3.0, "chassis": 3.0,
			"identity": id, "uuid": id, "name": "node-1", "power_state": "Off",
			"boot":          map[string]any{"target": "Hdd", "enabled": "Continuous", "mode": "Legacy"},
			"reset_allowed": []any{"ForceOff", "ForceOn", "ForceRestart", "GracefulRestart", "GracefulShutdown", "Nmi", "On", "PushPowerButton"},
			"boot_allowed":  []any{"Cd", "Hdd", "None", "Pxe"},
			"cpus":          2.0, "memory_gib": 4.0, "macs": []any{e.macOf(t, "node-1")},
			"manager_type": "BMC", "manager_for": []any{id}, "chassis_of": []any{id},
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	})

	t.Run("resets", func(t *testing.T) {
		e.sim.ResetCounters()
		got := run("resets")
		if nmi := got["Nmi_off"].(map[string]any); nmi["status"] != 409.0 || nmi["message_id"] != "Base.1.8.ResourceInUse" {
			t.Errorf("Nmi while Off: %v, want 409 ResourceInUse", nmi)
		}
		if nmi := got["Nmi"].(map[string]any); nmi["status"] != "no error" {
			t.Errorf("Nmi while On: %v, want it accepted", nmi)
		}
		// On, ForceOn, PushPowerButton from off: os-start; GracefulShutdown,
		// ForceOff, PushPowerButton from on: os-stop; the restarts: one
		// reboot each. Counted as Nova accepted them: sushy sees the power
		// state before Nova's task has ended, so the next reset may meet a
		// 409, which the executor sends again once the task is over — one
		// action Nova accepted per reset, never two.
		accepted, refused := map[string]int64{}, map[string]int64{}
		for _, r := range e.sim.Requests() {
			switch {
			case r.Action == "":
			case r.Status == http.StatusAccepted:
				accepted[r.Action]++
			case r.Status == http.StatusConflict:
				refused[r.Action]++
			default:
				t.Errorf("%s answered %d", r.Action, r.Status)
			}
		}
		// Then On, Nmi (one trigger_crash_dump; the Nmi while Off never
		// reached the cloud) and ForceOff.
		for action, want := range map[string]int64{"os-start": 4, "os-stop": 4, "reboot": 2, "trigger_crash_dump": 1} {
			if n := accepted[action]; n != want {
				t.Errorf("%d %s accepted for the resets, want %d (409s: %v)", n, action, want, refused)
			}
		}
	})

	t.Run("once", func(t *testing.T) {
		if got := run("once")["boot"]; !reflect.DeepEqual(got, map[string]any{"target": "Pxe", "enabled": "Once", "mode": "Legacy"}) {
			t.Errorf("after Once Pxe: %v", got)
		}
		if md := e.metadata(t, "node-1"); md[nodes.MetaPXEFirst] != "1" || md[nodes.MetaBootOnce] != "disk" {
			t.Errorf("after Once Pxe the cloud has %v", md)
		}
		if got := run("poweron")["boot"]; !reflect.DeepEqual(got, map[string]any{"target": "Hdd", "enabled": "Continuous", "mode": "Legacy"}) {
			t.Errorf("after the power-on: %v", got)
		}
		md := e.metadata(t, "node-1")
		if _, marked := md[nodes.MetaBootOnce]; marked || md[nodes.MetaPXEFirst] != "" {
			t.Errorf("after the power-on the cloud has %v, want the override spent", md)
		}
	})

	t.Run("continuous", func(t *testing.T) {
		if got := run("continuous")["boot"]; !reflect.DeepEqual(got, map[string]any{"target": "Pxe", "enabled": "Continuous", "mode": "Legacy"}) {
			t.Errorf("after Continuous Pxe and a power cycle: %v", got)
		}
		if md := e.metadata(t, "node-1"); md[nodes.MetaPXEFirst] != "1" {
			t.Errorf("after Continuous Pxe the cloud has %v", md)
		}
	})

	t.Run("errors", func(t *testing.T) {
		got := run("errors")
		for k, want := range map[string]map[string]any{
			"wrong_password":   {"status": 401.0, "class": "AccessError", "message_id": "Base.1.8.NoValidSession"},
			"cd_client_side":   {"status": 400.0, "class": "BadRequestError", "message_id": "Base.1.8.PropertyValueConflict"},
			"cd":               {"status": 400.0, "class": "BadRequestError", "message_id": "Base.1.8.PropertyValueConflict"},
			"uefi":             {"status": 400.0, "class": "BadRequestError", "message_id": "Base.1.8.PropertyValueNotInList"},
			"unknown_property": {"status": 400.0, "class": "BadRequestError", "message_id": "Base.1.8.PropertyUnknown"},
			"not_an_object":    {"status": 400.0, "class": "BadRequestError", "message_id": "Base.1.8.MalformedJSON"},
			"wrong_etag":       {"status": 412.0, "class": "HTTPError", "message_id": "Base.1.8.PreconditionFailed"},
			"sushy_etag":       {"status": "no error"},
			"malformed_bytes":  {"status": 400.0, "message_id": "Base.1.8.MalformedJSON"},
		} {
			g, _ := got[k].(map[string]any)
			for field, v := range want {
				if g[field] != v {
					t.Errorf("%s: %s = %v, want %v (%v)", k, field, g[field], v, g)
				}
			}
		}
		if md := e.metadata(t, "node-1"); md[nodes.MetaPXEFirst] != "" {
			t.Errorf("after the refusals and Hdd Continuous the cloud has %v", md)
		}
	})

	t.Run("read-only", func(t *testing.T) {
		e.sim.ResetCounters()
		got := e.sushy(t, py, readerUser, readerPass, path, "readonly")
		for _, k := range []string{"reset", "boot"} {
			if g := got[k].(map[string]any); g["status"] != 403.0 || g["message_id"] != "Base.1.8.InsufficientPrivilege" {
				t.Errorf("read-only %s: %v", k, g)
			}
		}
		if n := e.sim.Count("/action") + e.sim.Count("metadata"); n != 0 {
			t.Errorf("a read-only account's refused requests reached the cloud: %v", e.sim.Counters())
		}
	})
}
