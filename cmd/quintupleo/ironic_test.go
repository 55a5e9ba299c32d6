package main

// A real Ironic (Debian's ironic-api and ironic-conductor, Zed, from the
// realcloud tools with RC_SERVICES=ironic) drives quintupleo's Redfish front
// for node-0..2 of the real cloud, through the `openstack baremetal` CLI
// (Debian's python3-ironicclient): the redfish hardware type over HTTPS
// with the CA Ironic is told to verify, validate, manage, power on and off,
// boot device persistent and one-time, and the conductor's power-state
// sync (every 10 s there) putting back a change made in Nova behind its
// back.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// ironicNodes are the fixture's nodes Ironic enrols; each becomes the
// Ironic node ironicPrefix+name.
var ironicNodes = []string{"node-0", "node-1", "node-2"}

const ironicPrefix = "quintupleo-"

// ironicNode is what `baremetal node show -f json` says of a node.
type ironicNode struct {
	UUID             string  `json:"uuid"`
	PowerState       *string `json:"power_state"`
	TargetPowerState *string `json:"target_power_state"`
	ProvisionState   string  `json:"provision_state"`
	LastError        *string `json:"last_error"`
	Maintenance      bool    `json:"maintenance"`
	PowerInterface   string  `json:"power_interface"`
}

func (n ironicNode) power() string {
	if n.PowerState == nil {
		return ""
	}
	return *n.PowerState
}

// ironicEnv is one quintupleo over the real cloud with its Redfish front on
// HTTPS, and the CLI that talks to the cloud's Ironic.
type ironicEnv struct {
	*env
	cli    osc
	url    string // https://127.0.0.1:PORT
	caFile string
	ids    map[string]string // fixture node name → server UUID (the System Id)
}

func TestIronicDrivesRedfish(t *testing.T) {
	if realCloud() == "" {
		t.Skip("needs a real cloud with Ironic (scripts/realcloud-tier.sh starts one with RC_SERVICES=\"cinder ironic\")")
	}
	ie := startIronicEnv(t)
	// Registered after startIronicEnv's, so it runs first: the nodes go
	// before the serve and the CA file they point at.
	t.Cleanup(func() { ie.deleteNodes(t) })
	ie.deleteNodes(t) // a run cut off before its cleanup left them

	for _, name := range ironicNodes {
		ie.enrol(t, name)
	}
	t.Run("validate", func(t *testing.T) {
		for _, name := range ironicNodes {
			var rows []struct {
				Interface string `json:"Interface"`
				Result    bool   `json:"Result"`
				Reason    string `json:"Reason"`
			}
			ie.cli.decode(t, &rows, "baremetal", "node", "validate", ironicPrefix+name)
			for _, r := range rows {
				if (r.Interface == "power" || r.Interface == "management") && !r.Result {
					t.Errorf("%s: validate %s: %s", name, r.Interface, r.Reason)
				}
			}
		}
	})
	managed := t.Run("manage", func(t *testing.T) {
		// manage reads the power state over Redfish once; only manageable
		// nodes are in the conductor's power sync.
		for _, name := range ironicNodes {
			ie.manage(t, name)
			n := ie.show(t, name)
			if n.ProvisionState != "manageable" || n.power() != "power off" || n.PowerInterface != "redfish" {
				t.Errorf("%s after manage: %+v", name, n)
			}
		}
	})
	if !managed {
		// Every later step needs the conductor to reach the Redfish front.
		t.FailNow()
	}
	t.Run("power", func(t *testing.T) {
		for _, name := range ironicNodes {
			ie.power(t, name, "on", "ACTIVE")
		}
		for _, name := range ironicNodes {
			ie.power(t, name, "off", "SHUTOFF")
		}
	})
	t.Run("boot-device", func(t *testing.T) { ie.bootDevice(t, "node-1") })
	t.Run("power-sync", func(t *testing.T) { ie.powerSync(t, "node-2") })
	t.Run("delete", func(t *testing.T) {
		ie.deleteNodes(t)
		var left []struct {
			Name string `json:"Name"`
		}
		ie.cli.decode(t, &left, "baremetal", "node", "list")
		for _, n := range left {
			if strings.HasPrefix(n.Name, ironicPrefix) {
				t.Errorf("Ironic node %s left after delete", n.Name)
			}
		}
	})
}

// startIronicEnv starts quintupleo over the real cloud with --listen-redfish
// on HTTPS (a test CA; Ironic verifies the certificate against it: the
// conductor runs as root, so it reads the test's files) and one account.
func startIronicEnv(t *testing.T) *ironicEnv {
	t.Helper()
	yaml := os.Getenv("OS_CLIENT_CONFIG_FILE")
	if yaml == "" {
		t.Fatal("OS_CLIENT_CONFIG_FILE must name the real cloud's clouds.yaml (the openstack CLI is given only that)")
	}
	dir := t.TempDir()
	ca := testtool.NewCA(t, "quintupleo Ironic test CA")
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true})
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	testtool.WriteFile(t, certFile, cert)
	testtool.WriteFile(t, keyFile, key)
	testtool.WriteFile(t, caFile, ca.PEM)
	hash, err := bcrypt.GenerateFromPassword([]byte("ironic-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "htpasswd")
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) {
		c.redfish = redfishFlags{listen: "127.0.0.1:0", authFile: auth, sessionTimeout: time.Hour}
		c.tls.cert, c.tls.key, c.tls.ca = certFile, keyFile, caFile
	})
	ie := &ironicEnv{env: e, cli: newOSC(t, yaml, realCloud()), caFile: caFile,
		url: "https://" + e.st.redfish.Addr().String(), ids: map[string]string{}}
	for _, name := range ironicNodes {
		ie.ids[name] = e.serverID(t, name)
	}
	return ie
}

// enrol creates the Ironic node of a fixture node: the redfish hardware
// type at quintupleo's address, the System by its UUID.
func (ie *ironicEnv) enrol(t *testing.T, name string) {
	t.Helper()
	var n ironicNode
	ie.cli.decode(t, &n, "baremetal", "node", "create", "--driver", "redfish", "--name", ironicPrefix+name,
		"--driver-info", "redfish_address="+ie.url,
		"--driver-info", "redfish_system_id=/redfish/v1/Systems/"+ie.ids[name],
		"--driver-info", "redfish_username=ironic",
		"--driver-info", "redfish_password=ironic-pw",
		"--driver-info", "redfish_verify_ca="+ie.caFile)
	if n.ProvisionState != "enroll" {
		t.Fatalf("%s created as %+v", name, n)
	}
}

// manage makes a node manageable: the conductor's first connection to the
// Redfish front (TLS verified against redfish_verify_ca, a session, the
// System's power state).
func (ie *ironicEnv) manage(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ie.cli.path, "baremetal", "node", "manage", "--wait", "120", ironicPrefix+name)
	cmd.Env = ie.cli.env
	stdout, stderr, status := testtool.Run(t, cmd)
	if status != 0 || stderr != "" {
		// The CLI says only that the node went back to enroll; why is in
		// the node's last_error.
		lastErr := deref(ie.show(t, name).LastError)
		t.Fatalf("openstack baremetal node manage %s: exit %d\nstderr: %s\nstdout: %s\nlast_error: %s%s",
			ironicPrefix+name, status, stderr, stdout, lastErr, verifyCAHint(lastErr))
	}
}

// verifyCAHint explains a conductor that rejects quintupleo's certificate
// although redfish_verify_ca names the CA that issued it: python-requests
// verifies a Session's requests against REQUESTS_CA_BUNDLE or
// CURL_CA_BUNDLE when either is in the process's environment, whatever the
// Session's verify says (psf/requests#3829), and sushy sets only that.
func verifyCAHint(msg string) string {
	if !strings.Contains(msg, "CERTIFICATE_VERIFY_FAILED") {
		return ""
	}
	return "\nThe conductor did not verify against redfish_verify_ca: is REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in its " +
		"environment? Either overrides it (psf/requests#3829; docs/realcloud.md, \"The real Ironic drives the Redfish front\")."
}

func (ie *ironicEnv) show(t *testing.T, name string) ironicNode {
	t.Helper()
	var n ironicNode
	ie.cli.decode(t, &n, "baremetal", "node", "show", ironicPrefix+name)
	return n
}

// power turns a node on or off through Ironic (the CLI waits for Ironic's
// power state, which Ironic's redfish driver waits for in turn by reading
// the System), then waits for Nova to agree. Both times are logged: the
// CLI's includes its own start and Keystone round trips (about 2.5 s here,
// the time of a `node show`).
func (ie *ironicEnv) power(t *testing.T, name, onOff, novaStatus string) {
	t.Helper()
	start := time.Now()
	ie.cli.run(t, "baremetal", "node", "power", onOff, "--power-timeout", "120", ironicPrefix+name)
	cli := time.Since(start)
	n := ie.show(t, name)
	showTime := time.Since(start) - cli
	if n.power() != "power "+onOff || n.LastError != nil && *n.LastError != "" {
		t.Fatalf("%s after power %s: %+v (last_error %v)", name, onOff, n, deref(n.LastError))
	}
	ie.waitNova(t, name, novaStatus)
	t.Logf("ironic power %s %s: CLI %.1f s (a node show: %.1f s); Nova %s %.1f s after the call",
		onOff, name, cli.Seconds(), showTime.Seconds(), novaStatus, time.Since(start).Seconds())
}

// waitNova waits until Nova reports the server in status with no task.
func (ie *ironicEnv) waitNova(t *testing.T, name, status string) *servers.Server {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := ie.server(t, name)
		if s.Status == status && s.TaskState == "" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: Nova says %s (task %q), want %s", name, s.Status, s.TaskState, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// bootDevice sets the boot device through Ironic, persistent and one-time,
// and checks what Ironic reads back and what the cloud holds; a power-on
// through Ironic spends the one-time device.
func (ie *ironicEnv) bootDevice(t *testing.T, name string) {
	t.Helper()
	node := ironicPrefix + name
	type bootDev struct {
		Device     *string `json:"boot_device"`
		Persistent *bool   `json:"persistent"`
	}
	check := func(when, dev string, persistent bool, pxeFirst, once string) {
		t.Helper()
		var got bootDev
		ie.cli.decode(t, &got, "baremetal", "node", "boot", "device", "show", node)
		if deref(got.Device) != dev || got.Persistent == nil || *got.Persistent != persistent {
			t.Errorf("%s: Ironic reads boot device %v persistent %v, want %s %v", when, deref(got.Device), got.Persistent, dev, persistent)
		}
		md := ie.server(t, name).Metadata
		if md[nodes.MetaPXEFirst] != pxeFirst || md[nodes.MetaBootOnce] != once {
			t.Errorf("%s: the cloud holds %s=%q %s=%q, want %q %q", when, nodes.MetaPXEFirst, md[nodes.MetaPXEFirst],
				nodes.MetaBootOnce, md[nodes.MetaBootOnce], pxeFirst, once)
		}
	}
	ie.cli.run(t, "baremetal", "node", "boot", "device", "set", "--persistent", node, "pxe")
	check("pxe --persistent", "pxe", true, "1", "")
	ie.cli.run(t, "baremetal", "node", "boot", "device", "set", "--persistent", node, "disk")
	check("disk --persistent", "disk", true, "", "")
	ie.cli.run(t, "baremetal", "node", "boot", "device", "set", node, "pxe")
	check("pxe (one-time)", "pxe", false, "1", "disk")
	ie.power(t, name, "on", "ACTIVE")
	ie.waitSpent(t, name)
	check("after the power-on", "disk", true, "", "")
	ie.power(t, name, "off", "SHUTOFF")
}

// waitSpent waits until the one-time boot's mark is gone from the server:
// quintupleo spends it once the power-on it was for has reached Nova.
func (ie *ironicEnv) waitSpent(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		md := ie.server(t, name).Metadata
		if _, marked := md[nodes.MetaBootOnce]; !marked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the one-time boot is still marked after the power-on: %v", name, md)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// powerSync powers a node on through Ironic, stops its server in Nova
// behind Ironic's back, and waits for the conductor's power sync
// (force_power_state_during_sync) to see it Off over Redfish and power it
// back On: an os-start that quintupleo sent without this test asking.
func (ie *ironicEnv) powerSync(t *testing.T, name string) {
	t.Helper()
	ie.power(t, name, "on", "ACTIVE")
	ie.actions() // forget what came before
	compute := ie.cloudClient(t)
	start := time.Now()
	if err := servers.Stop(t.Context(), compute, ie.ids[name]).ExtractErr(); err != nil {
		t.Fatalf("stop %s in Nova: %v", name, err)
	}
	ie.waitNova(t, name, "SHUTOFF")
	stopped := time.Since(start)
	deadline := time.Now().Add(90 * time.Second)
	for !slices.Contains(ie.actions(), "os-start") {
		if time.Now().After(deadline) {
			t.Fatalf("%s: Ironic's power sync did not power the node back on within 90 s (Ironic: %+v)", name, ie.show(t, name))
		}
		time.Sleep(250 * time.Millisecond)
	}
	restarted := time.Since(start)
	ie.waitNova(t, name, "ACTIVE")
	if n := ie.show(t, name); n.power() != "power on" || n.Maintenance {
		t.Errorf("%s after the sync: %+v", name, n)
	}
	t.Logf("power sync %s: stopped in Nova (SHUTOFF after %.1f s); Ironic sent Reset On %.1f s after the stop; ACTIVE again %.1f s after it",
		name, stopped.Seconds(), restarted.Seconds(), time.Since(start).Seconds())
	ie.power(t, name, "off", "SHUTOFF")
}

// deleteNodes deletes the test's Ironic nodes that exist. It runs from
// t.Cleanup too, when t's context has ended, so it has its own.
func (ie *ironicEnv) deleteNodes(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list := exec.CommandContext(ctx, ie.cli.path, "baremetal", "node", "list", "-f", "json", "-c", "Name")
	list.Env = ie.cli.env
	out, err := list.Output()
	if err != nil {
		t.Errorf("baremetal node list: %v", err)
		return
	}
	var rows []struct {
		Name string `json:"Name"`
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Errorf("baremetal node list: %v\n%s", err, out)
		return
	}
	var doomed []string
	for _, r := range rows {
		if strings.HasPrefix(r.Name, ironicPrefix) {
			doomed = append(doomed, r.Name)
		}
	}
	if len(doomed) == 0 {
		return
	}
	del := exec.CommandContext(ctx, ie.cli.path, append([]string{"baremetal", "node", "delete"}, doomed...)...)
	del.Env = ie.cli.env
	if out, err := del.CombinedOutput(); err != nil {
		t.Errorf("baremetal node delete %v: %v\n%s", doomed, err, out)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
