package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"gopkg.in/yaml.v3"
)

func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	cy := filepath.Join(dir, "clouds.yaml")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"sim", "--listen", "127.0.0.1:0", "--nodes", "4", "--clouds-yaml", cy,
			"--transition-delay", "1ms", "--fault", "endpoint=flavors,latency=1ms"}, pw, &stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no banner; stderr: %s", stderr.String())
	}
	if !strings.HasPrefix(sc.Text(), "cloudsim listening on http://127.0.0.1:") {
		t.Fatalf("banner %q", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	sim, raw := readSimCloud(t, cy, "sim")
	if sim.IdentityAPIVersion != 3 || sim.RegionName != "RegionOne" || sim.Interface != "public" {
		t.Fatalf("clouds.yaml:\n%s", raw)
	}
	p := sim.authenticate(t)
	compute, err := openstack.NewComputeV2(p, gophercloud.EndpointOpts{Region: sim.RegionName})
	if err != nil {
		t.Fatal(err)
	}
	compute.Microversion = "2.79"
	pages, err := servers.List(compute, servers.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, err := servers.ExtractServers(pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("%d servers, want 4", len(all))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
}

func TestSimCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--nodes", "-1"},
		{"sim", "--fault", "bogus=1"},
		{"sim", "extra"},
		{"sim", "--log-level", "loud"},
	} {
		var out, errb strings.Builder
		if code := run(t.Context(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %s)", args, code, errb.String())
		}
	}
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"sim", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "--clouds-yaml") {
		t.Errorf("--help: exit %d, %s", code, errb.String())
	}
}

// TestSimCommandCloudShape: the flags that make `quintupleo sim` an older,
// smaller or poorer cloud reach cloudsim — no Cinder in the catalog, an
// older Nova's newest microversion, a compute quota — as a client of the
// cloud sees them.
func TestSimCommandCloudShape(t *testing.T) {
	cy := startSimCommand(t, "--nodes", "1", "--without-cinder", "--max-microversion", "2.60",
		"--compute-quota", "instances=1")
	sim, _ := readSimCloud(t, cy, "sim")
	p := sim.authenticate(t)
	if _, err := openstack.NewBlockStorageV3(p, gophercloud.EndpointOpts{}); err == nil {
		t.Error("--without-cinder: the catalog still has a block-storage endpoint")
	}
	compute, err := openstack.NewComputeV2(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	compute.Microversion = "2.61"
	_, err = servers.List(compute, servers.ListOpts{}).AllPages(t.Context())
	if !gophercloud.ResponseCodeIs(err, http.StatusNotAcceptable) {
		t.Errorf("microversion 2.61 against --max-microversion 2.60: %v, want Nova's 406", err)
	}
	compute.Microversion = "2.60"
	pages, err := servers.List(compute, servers.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, err := servers.ExtractServers(pages)
	if err != nil || len(all) != 1 {
		t.Fatalf("servers at 2.60: %d, %v", len(all), err)
	}
	flavorPages, err := flavors.ListDetail(compute, nil).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fls, err := flavors.ExtractFlavors(flavorPages)
	if err != nil || len(fls) == 0 {
		t.Fatalf("flavors: %v, %v", fls, err)
	}
	_, err = servers.Create(t.Context(), compute, servers.CreateOpts{
		Name: "second", FlavorRef: fls[0].ID, ImageRef: all[0].Image["id"].(string), Networks: "none",
	}, nil).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) || !strings.Contains(err.Error(), "instances") {
		t.Errorf("a second server under --compute-quota instances=1: %v, want Nova's 403 naming instances", err)
	}
}

func TestSimCommandBadCloudShape(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--role", "owner"},
		{"sim", "--max-microversion", "2.94"},
		{"sim", "--max-microversion", "3.1"},
		{"sim", "--compute-quota", "instances=-2"},
		{"sim", "--compute-quota", "disks=4"},
		{"sim", "--block-quota", "gigabytes"},
		{"sim", "--import-allowed-port", "70000"},
	} {
		var out, errb strings.Builder
		if code := run(t.Context(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "quintupleo sim: ") {
			t.Errorf("%q: exit %d, want 2 with a message (stderr %s)", args, code, errb.String())
		}
	}
}

// simCloud is one cloud of the clouds.yaml `quintupleo sim` writes.
type simCloud struct {
	Auth struct {
		AuthURL           string `yaml:"auth_url"`
		Username          string `yaml:"username"`
		Password          string `yaml:"password"`
		ProjectName       string `yaml:"project_name"`
		UserDomainName    string `yaml:"user_domain_name"`
		ProjectDomainName string `yaml:"project_domain_name"`
	} `yaml:"auth"`
	RegionName         string `yaml:"region_name"`
	Interface          string `yaml:"interface"`
	IdentityAPIVersion int    `yaml:"identity_api_version"`
}

// readSimCloud reads cloud name from the clouds.yaml at path, and returns
// the file's text too.
func readSimCloud(t *testing.T, path, name string) (simCloud, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Clouds map[string]simCloud `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	c, ok := cfg.Clouds[name]
	if !ok {
		t.Fatalf("no cloud %q in clouds.yaml:\n%s", name, b)
	}
	return c, b
}

// authenticate logs in to Keystone with gophercloud as the cloud says.
func (c simCloud) authenticate(t *testing.T) *gophercloud.ProviderClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(t.Context(), gophercloud.AuthOptions{
		IdentityEndpoint: c.Auth.AuthURL, Username: c.Auth.Username, Password: c.Auth.Password,
		TenantName: c.Auth.ProjectName, DomainName: c.Auth.UserDomainName,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
