package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
)

// TestLayering enforces ARCHITECTURE.md's arrows: imports point down only
// (cmd → {rpc, ssh, translate, nodes, cloudsim}, ssh → rpc, rpc → translate →
// nodes), gophercloud stays in nodes (and cloudsim's tests), the wire types
// stay out of nodes, and only cmd imports cloudsim.
func TestLayering(t *testing.T) {
	goBin := testtool.Require(t, "go")
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-json=ImportPath,Imports,Deps", "quintupleo/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	banned := map[string][]string{ // package → direct imports it must not have (prefixes)
		"quintupleo/rpc":       {"github.com/gophercloud/", "quintupleo/nodes", "quintupleo/ssh", "quintupleo/cloudsim"},
		"quintupleo/translate": {"github.com/gophercloud/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim"},
		"quintupleo/nodes":     {"github.com/digitalocean/go-libvirt", "quintupleo/translate", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim"},
		"quintupleo/ssh":       {"github.com/gophercloud/", "quintupleo/nodes", "quintupleo/translate", "quintupleo/cloudsim"},
		"quintupleo/cloudsim":  {"quintupleo/rpc", "quintupleo/ssh", "quintupleo/translate", "quintupleo/nodes"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		layer := p.ImportPath
		for l := range banned {
			if p.ImportPath == l || strings.HasPrefix(p.ImportPath, l+"/") {
				layer = l
			}
		}
		for _, imp := range p.Imports {
			for _, b := range banned[layer] {
				if strings.HasPrefix(imp, b) {
					t.Errorf("%s imports %s: against the layering", p.ImportPath, imp)
				}
			}
		}
		testHarness := strings.HasPrefix(p.ImportPath, "quintupleo/cmd/") || strings.HasPrefix(p.ImportPath, "quintupleo/cloudsim") ||
			strings.HasPrefix(p.ImportPath, "quintupleo/conformance") || strings.HasPrefix(p.ImportPath, "quintupleo/internal/stacktest")
		if !testHarness {
			for _, d := range p.Deps {
				if d == "quintupleo/cloudsim" {
					t.Errorf("%s depends on cloudsim; only cmd and tests may", p.ImportPath)
				}
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list saw only %d packages", seen)
	}
}
