package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
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

	var cfg struct {
		Clouds map[string]struct {
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
		} `yaml:"clouds"`
	}
	b, err := os.ReadFile(cy)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	sim, ok := cfg.Clouds["sim"]
	if !ok || sim.IdentityAPIVersion != 3 || sim.RegionName != "RegionOne" || sim.Interface != "public" {
		t.Fatalf("clouds.yaml:\n%s", b)
	}
	p, err := openstack.AuthenticatedClient(t.Context(), gophercloud.AuthOptions{
		IdentityEndpoint: sim.Auth.AuthURL, Username: sim.Auth.Username, Password: sim.Auth.Password,
		TenantName: sim.Auth.ProjectName, DomainName: sim.Auth.UserDomainName,
	})
	if err != nil {
		t.Fatal(err)
	}
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
