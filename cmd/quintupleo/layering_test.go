package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
)

// TestLayering enforces the package map (docs/design.md): imports point down
// only —
//
//	cmd → {rpc, ssh, driver/*, nodes, cloudsim}
//	rpc → driver/* → nodes, and everything → virt (the vocabulary leaf)
//
// (ssh reaches rpc only through the Dialer closure cmd builds); virt imports
// nothing of ours and of go-libvirt only its error numbers; the model
// packages (driver/*, nodes) see no go-libvirt wire types; driver families do
// not import each other (domain may import network, for <source network>);
// gophercloud stays in nodes; only cmd and tests import cloudsim; redfish,
// a front end beside rpc and ssh, imports nodes and nothing above it; only
// internal/metrics imports Prometheus.
func TestLayering(t *testing.T) {
	goBin := testtool.Require(t, "go")
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-json=ImportPath,Imports,Deps", "quintupleo/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const (
		golibvirt = "github.com/digitalocean/go-libvirt"
		ours      = "quintupleo/"
	)
	// package (and its subpackages) → direct imports it must not have
	// (prefixes), except those in allowed.
	banned := map[string][]string{
		"quintupleo/virt":           {ours, golibvirt + "/"}, // go-libvirt itself: its ErrorNumber constants only
		"quintupleo/rpc":            {"github.com/gophercloud/", "quintupleo/nodes", "quintupleo/ssh", "quintupleo/cloudsim"},
		"quintupleo/driver/host":    {golibvirt, "github.com/gophercloud/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim", "quintupleo/driver/"},
		"quintupleo/driver/domain":  {golibvirt, "github.com/gophercloud/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim", "quintupleo/driver/"},
		"quintupleo/driver/network": {golibvirt, "github.com/gophercloud/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim", "quintupleo/driver/"},
		"quintupleo/driver/storage": {golibvirt, "github.com/gophercloud/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim", "quintupleo/driver/"},
		"quintupleo/nodes":          {golibvirt, "quintupleo/driver/", "quintupleo/virt", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim"},
		"quintupleo/ssh":            {"github.com/gophercloud/", "quintupleo/nodes", "quintupleo/driver/", "quintupleo/cloudsim"},
		// The Redfish front end stands beside rpc and ssh on nodes alone.
		"quintupleo/redfish":         {golibvirt, "github.com/gophercloud/", "quintupleo/driver/", "quintupleo/rpc", "quintupleo/ssh", "quintupleo/cloudsim", "quintupleo/virt"},
		"quintupleo/cloudsim":        {"quintupleo/rpc", "quintupleo/ssh", "quintupleo/driver/", "quintupleo/nodes", "quintupleo/virt"},
		"quintupleo/internal/pubsub": {ours},

		// The one accept loop, under rpc and ssh.
		"quintupleo/internal/acceptloop": {ours},
		// The limits' names, shared by the front ends and the metrics.
		"quintupleo/internal/limit": {ours},
	}
	// Metrics: the packages that are observed own small Observer
	// interfaces; only internal/metrics (and cmd, which wires it) imports
	// Prometheus.
	for _, l := range []string{"quintupleo/rpc", "quintupleo/ssh", "quintupleo/nodes", "quintupleo/redfish", "quintupleo/virt",
		"quintupleo/driver/host", "quintupleo/driver/domain", "quintupleo/driver/network", "quintupleo/driver/storage"} {
		banned[l] = append(banned[l], "github.com/prometheus/")
	}
	banned["quintupleo/internal/actionlog"] = []string{ours}
	allowed := map[string][]string{
		"quintupleo/driver/domain": {"quintupleo/driver/domain/", "quintupleo/driver/network"},
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
		layer := ""
		for l := range banned {
			if (p.ImportPath == l || strings.HasPrefix(p.ImportPath, l+"/")) && len(l) > len(layer) {
				layer = l
			}
		}
		for _, imp := range p.Imports {
			if bannedImport(imp, banned[layer], allowed[layer]) {
				t.Errorf("%s imports %s: against the layering", p.ImportPath, imp)
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
	if seen < 10 {
		t.Fatalf("go list saw only %d packages", seen)
	}
	checkVirtUsesOnlyErrorNumbers(t)
}

// checkVirtUsesOnlyErrorNumbers: of go-libvirt, virt may name only the
// error numbers (ErrorNumber, Err*), so that no wire type reaches the model
// through the vocabulary.
func checkVirtUsesOnlyErrorNumbers(t *testing.T) {
	files, err := filepath.Glob("../../virt/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("virt sources: %v (%d files)", err, len(files))
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"github.com/digitalocean/go-libvirt"` {
				local = "libvirt"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && !strings.HasPrefix(sel.Sel.Name, "Err") {
				t.Errorf("%s: virt uses go-libvirt's %s; only its error numbers are allowed", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}

// bannedImport reports whether imp matches a banned prefix and no allowed
// one.
func bannedImport(imp string, banned, allowed []string) bool {
	for _, a := range allowed {
		if imp == a || strings.HasPrefix(imp, a) {
			return false
		}
	}
	for _, b := range banned {
		if imp == b || strings.HasPrefix(imp, b) {
			return true
		}
	}
	return false
}
