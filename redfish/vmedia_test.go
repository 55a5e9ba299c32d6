package redfish_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// isoServer serves a small ISO 9660 image at /boot.iso, as Ironic's
// conductor serves the ISO it built; the sim's Glance is told to allow its
// loopback address and port (a real Glance refuses loopback and ports but
// 80 and 443 unless allowed_hosts / allowed_ports say otherwise).
func isoServer(t *testing.T) (url string, size int, opts cloudsim.Options) {
	t.Helper()
	data := make([]byte, 40960)
	copy(data[32769:], "CD001")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/boot.iso" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	return srv.URL + "/boot.iso", len(data),
		cloudsim.Options{Nodes: 2, ImportAllowedHosts: []string{"127.0.0.1"}, ImportAllowedPorts: []int{port}}
}

// TestSushyVirtualMedia drives the virtual CD as Ironic's
// redfish-virtual-media boot interface does, through sushy: find the
// manager's CD, insert the ISO by URL, boot it once (and continuously),
// power off, eject; and checks the cloud's own record after each step: the
// Glance image imported from the URL, the server metadata every replica
// reads, the rescue Nova booted with the image.
func TestSushyVirtualMedia(t *testing.T) {
	py := testtool.DebianPython(t, "sushy", "python3-sushy")
	iso, size, opts := isoServer(t)
	var mu sync.Mutex
	var statuses []string // node-1's, as the cloud went through them
	opts.OnChange = func(in cloudsim.ServerInfo) {
		if in.Name == "node-1" {
			mu.Lock()
			statuses = append(statuses, in.Status)
			mu.Unlock()
		}
	}
	e := newEnv(t, opts)
	path := e.systemPath(t, "node-1")
	run := func(step string, args ...string) map[string]any {
		return e.sushy(t, py, adminUser, adminPass, path, step, args...)
	}
	server := func() cloudsim.ServerInfo {
		info, _ := e.sim.Server("node-1")
		return info
	}
	mediaImage := func() cloudsim.ImageInfo {
		t.Helper()
		id := server().Metadata[nodes.MetaMediaImage]
		for _, im := range e.sim.Images() {
			if im.ID == id {
				return im
			}
		}
		t.Fatalf("the inserted image %q is not in Glance (metadata %v)", id, server().Metadata)
		return cloudsim.ImageInfo{}
	}
	imagesBefore := len(e.sim.Images())

	got := run("vm-insert", iso)
	empty := map[string]any{"id": "Cd", "image": nil, "image_name": nil, "inserted": false, "write_protected": true,
		"connected_via": "NotConnected", "transfer_method": "Upload", "media_types": []any{"CD", "DVD"}}
	if !reflect.DeepEqual(got["before"], empty) {
		t.Errorf("the CD before the insert: %v", got["before"])
	}
	inserted := map[string]any{"id": "Cd", "image": iso, "image_name": "boot.iso", "inserted": true, "write_protected": true,
		"connected_via": "URI", "transfer_method": "Upload", "media_types": []any{"CD", "DVD"}}
	if !reflect.DeepEqual(got["after"], inserted) {
		t.Errorf("the CD after the insert: %v", got["after"])
	}
	im := mediaImage()
	if im.Status != "active" || im.Size != int64(size) || im.DiskFormat != "iso" || im.Visibility != "private" ||
		im.Props["hw_rescue_device"] != "cdrom" || im.Props["hw_rescue_bus"] != "sata" || server().Metadata[nodes.MetaMediaURL] != iso {
		t.Errorf("after the insert Glance has %+v, the server's metadata %v", im, server().Metadata)
	}

	t.Run("once", func(t *testing.T) {
		got := run("vm-once")
		if want := (map[string]any{"target": "Cd", "enabled": "Once", "mode": "Legacy"}); !reflect.DeepEqual(got["set"], want) {
			t.Errorf("after Once Cd: %v", got["set"])
		}
		// Booted from the CD: Nova rescued the server with the media image.
		if s := server(); s.Status != "RESCUE" || s.RescueImageID != im.ID {
			t.Errorf("after the power-on the server is %s rescued with %q, want RESCUE with %s", s.Status, s.RescueImageID, im.ID)
		}
		if want := (map[string]any{"target": "Hdd", "enabled": "Continuous", "mode": "Legacy"}); !reflect.DeepEqual(got["after_power_on"], want) {
			t.Errorf("after the power-on the override reads %v, want it spent", got["after_power_on"])
		}
		run("vm-off")
		md := server().Metadata
		if _, ok := md[nodes.MetaBootOnce]; ok || md[nodes.MetaBootCD] != "" || md[nodes.MetaMediaImage] != im.ID {
			t.Errorf("after the power-off the cloud has %v: want the one-time CD spent, the media still in", md)
		}
	})

	t.Run("continuous", func(t *testing.T) {
		got := run("vm-continuous")
		if want := (map[string]any{"target": "Cd", "enabled": "Continuous", "mode": "Legacy"}); !reflect.DeepEqual(got["after_power_on"], want) {
			t.Errorf("Continuous Cd after the power-on: %v", got["after_power_on"])
		}
		e.sim.ResetCounters()
		mu.Lock()
		mark := len(statuses)
		mu.Unlock()
		run("vm-restart")
		// The reset answers once Nova accepted its first action; the
		// restart is over when the server is rescued again after a stop.
		restarted := func(in cloudsim.ServerInfo) bool {
			mu.Lock()
			defer mu.Unlock()
			return in.Status == "RESCUE" && in.TaskState == "" && slices.Contains(statuses[mark:], "SHUTOFF")
		}
		if s, err := e.sim.WaitServer(t.Context(), "node-1", restarted); err != nil || s.RescueImageID != im.ID {
			t.Errorf("after ForceRestart the server is %s rescued with %q (%v)", s.Status, s.RescueImageID, err)
		}
		if n := e.sim.Count("reboot"); n != 0 {
			t.Errorf("a restart into the CD sent %d reboots: a rescue needs a cold start", n)
		}
		// Running from the CD: Nova would refuse the metadata write.
		e.sim.ResetCounters()
		got = run("vm-eject")
		if g := got["eject"].(map[string]any); g["status"] != 409.0 || g["message_id"] != "Base.1.8.ResourceInUse" {
			t.Errorf("eject while running from the CD: %v", g)
		}
		if n := e.sim.Count("metadata") + e.sim.Count("/images"); n != 0 {
			t.Errorf("the refused eject reached the cloud: %v", e.sim.Counters())
		}
		if !reflect.DeepEqual(got["after"], inserted) {
			t.Errorf("the CD after the refused eject: %v", got["after"])
		}
		run("vm-off")
	})

	t.Run("eject", func(t *testing.T) {
		got := run("vm-sushy-eject")
		if !reflect.DeepEqual(got["after"], empty) {
			t.Errorf("the CD after the eject: %v", got["after"])
		}
		if want := (map[string]any{"target": "Hdd", "enabled": "Continuous", "mode": "Legacy"}); !reflect.DeepEqual(got["boot"], want) {
			t.Errorf("the boot override after the eject: %v (the CD override goes with the media)", got["boot"])
		}
		for k := range server().Metadata {
			if strings.HasPrefix(k, "quintupleo:") {
				t.Errorf("after the eject the server still has %s", k)
			}
		}
		if n := len(e.sim.Images()); n != imagesBefore {
			t.Errorf("%d images in Glance after the eject, want %d: the media image is deleted", n, imagesBefore)
		}
	})

	t.Run("errors", func(t *testing.T) {
		refused := "http://127.0.0.1:1/boot.iso" // a port Glance's filter does not allow
		missing := strings.Replace(iso, "/boot.iso", "/gone.iso", 1)
		e.sim.ResetCounters()
		got := run("vm-errors", iso, refused, missing)
		for k, want := range map[string]map[string]any{
			"cd_empty":       {"status": 400.0, "message_id": "Base.1.8.PropertyValueConflict"},
			"ftp":            {"status": 400.0, "message_id": "Base.1.8.ActionParameterValueFormatError"},
			"writable":       {"status": 400.0, "message_id": "Base.1.8.ActionParameterNotSupported"},
			"stream":         {"status": 400.0, "message_id": "Base.1.8.ActionParameterNotSupported"},
			"credentials":    {"status": 400.0, "message_id": "Base.1.8.ActionParameterNotSupported"},
			"nfs":            {"status": 400.0, "message_id": "Base.1.8.ActionParameterNotSupported"},
			"no_image":       {"status": 400.0, "message_id": "Base.1.8.ActionParameterMissing"},
			"unknown":        {"status": 400.0, "message_id": "Base.1.8.ActionParameterUnknown"},
			"floppy":         {"status": 404.0, "message_id": "Base.1.8.ResourceNotFound"},
			"glance_refuses": {"status": 400.0, "message_id": "Base.1.8.ActionParameterValueFormatError"},
			"download_fails": {"status": 409.0, "message_id": "Base.1.8.ResourceInUse"},
		} {
			g, _ := got[k].(map[string]any)
			for field, v := range want {
				if g[field] != v {
					t.Errorf("%s: %s = %v, want %v (%v)", k, field, g[field], v, g)
				}
			}
		}
		if d, _ := got["glance_refuses"].(map[string]any)["resolution"].(string); !strings.Contains(d, "does not pass filtering") {
			t.Errorf("Glance's refusal is not quoted: %s", d)
		}
		if !reflect.DeepEqual(got["after"], empty) {
			t.Errorf("the CD after the refusals: %v", got["after"])
		}
		// Only the two inserts Glance had to judge reached the cloud, and
		// each left nothing behind.
		if n := e.sim.Count("metadata"); n != 0 {
			t.Errorf("the refusals wrote metadata: %v", e.sim.Counters())
		}
		if n := len(e.sim.Images()); n != imagesBefore {
			t.Errorf("%d images in Glance after the refused inserts, want %d", n, imagesBefore)
		}
	})

	t.Run("twice", func(t *testing.T) {
		run("vm-insert", iso)
		e.sim.ResetCounters()
		if g := run("vm-twice", iso)["second"].(map[string]any); g["status"] != 409.0 || g["message_id"] != "Base.1.8.ResourceInUse" {
			t.Errorf("a second insert: %v", g)
		}
		if reqs := e.sim.Requests(); len(reqs) != 0 {
			t.Errorf("the refused second insert sent %d requests to the cloud", len(reqs))
		}
	})
}
