package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// The Redfish and libvirt fronts of one serve are one node model: the same
// UUID, the same power, and a one-time boot device set over Redfish is
// spent by a virsh start.
func TestRedfishAndVirshAgree(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) {
		c.redfish = redfishFlags{listen: "127.0.0.1:0", plainHTTP: true, authFile: auth, sessionTimeout: time.Minute}
	})
	base := "http://" + e.st.redfish.Addr().String()
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("ironic", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	uuid := strings.TrimSpace(e.mustVirsh(t, "domuuid", "node-1"))
	sys := call("GET", "/redfish/v1/Systems/"+uuid, "")
	if sys["Name"] != "node-1" || sys["PowerState"] != "Off" {
		t.Fatalf("System %s: %v", uuid, sys)
	}

	call("PATCH", "/redfish/v1/Systems/"+uuid, `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}`)
	if out := e.mustVirsh(t, "dumpxml", "node-1"); !strings.Contains(out, "<boot dev='network'/>") {
		t.Errorf("virsh sees no network boot after a Redfish Once Pxe:\n%s", out)
	}
	e.mustVirsh(t, "start", "node-1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := e.sim.WaitServer(ctx, "node-1", func(s cloudsim.ServerInfo) bool {
		_, marked := s.Metadata[nodes.MetaBootOnce]
		return s.Status == "ACTIVE" && !marked && s.Metadata[nodes.MetaPXEFirst] == ""
	}); err != nil {
		info, _ := e.sim.Server("node-1")
		t.Fatalf("after virsh start the one-time boot was not spent: %v", info.Metadata)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sys = call("GET", "/redfish/v1/Systems/"+uuid, "")
		boot := sys["Boot"].(map[string]any)
		if sys["PowerState"] == "On" && boot["BootSourceOverrideTarget"] == "Hdd" && boot["BootSourceOverrideEnabled"] == "Continuous" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redfish after virsh start: %v", sys)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --listen-redfish without accounts is a usage error: Redfish clients log
// in with a password, and an endpoint nobody may use is a mistake.
func TestRedfishNeedsAccounts(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb strings.Builder
	code := run(ctx, []string{"serve", "--demo", "--listen-tcp", "", "--listen-redfish", "127.0.0.1:0"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "--listen-redfish needs --redfish-auth-file") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
