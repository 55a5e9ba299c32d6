package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"quintupleo/internal/testtool"
)

// parseServe parses args as serve does, the environment given by env.
func parseServe(t *testing.T, args []string, env map[string]string) (serveConfig, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var cfg serveConfig
	cfg.flags(fs)
	var stderr bytes.Buffer
	fs.SetOutput(&stderr)
	code, _ := parseFlags(fs, args, &stderr, cfg.Validate)
	return cfg, stderr.String(), code
}

// TestConfigFileAndEnvironment: a value comes from the command line, else
// QUINTUPLEO_*, else --config, else the default; lists and mappings fill
// repeatable and KEY=VALUE flags; an unknown key is a usage error.
func TestConfigFileAndEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "quintupleo.yaml")
	testtool.WriteFile(t, file, []byte(`listen-tcp: 127.0.0.1:17000
listen-ssh: 127.0.0.1:2222
ssh-authorized-keys: /keys
refresh-interval: 7s
log-format: json
tls-allowed-dn: ["CN=a", "CN=b"]
network-map:
  br-ctlplane: provision
  br-ex: public
`))
	cfg, stderr, code := parseServe(t, []string{"--config", file, "--listen-ssh", "127.0.0.1:3333"},
		map[string]string{"QUINTUPLEO_REFRESH_INTERVAL": "9s", "QUINTUPLEO_LOG_LEVEL": "debug"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if cfg.listenSSH != "127.0.0.1:3333" {
		t.Errorf("listen-ssh = %q: the command line must win over the file", cfg.listenSSH)
	}
	if cfg.refresh.String() != "9s" {
		t.Errorf("refresh-interval = %s: the environment must win over the file", cfg.refresh)
	}
	if cfg.listenTCP != "127.0.0.1:17000" || cfg.sshAuthKeys != "/keys" || cfg.obs.logFormat != "json" || cfg.obs.logLevel.String() != "debug" {
		t.Errorf("from the file and the environment: tcp %q keys %q format %q level %q", cfg.listenTCP, cfg.sshAuthKeys, cfg.obs.logFormat, cfg.obs.logLevel.String())
	}
	if strings.Join(cfg.tls.allowedDN, ";") != "CN=a;CN=b" {
		t.Errorf("tls-allowed-dn = %q", cfg.tls.allowedDN)
	}
	if cfg.networkMap["br-ctlplane"] != "provision" || cfg.networkMap["br-ex"] != "public" {
		t.Errorf("network-map = %v", cfg.networkMap)
	}

	// The environment names the file too.
	cfg, stderr, code = parseServe(t, nil, map[string]string{"QUINTUPLEO_CONFIG": file})
	if code != 0 || cfg.listenTCP != "127.0.0.1:17000" {
		t.Errorf("QUINTUPLEO_CONFIG: exit %d, listen-tcp %q: %s", code, cfg.listenTCP, stderr)
	}

	testtool.WriteFile(t, file, []byte("listen-tpc: 127.0.0.1:1\n"))
	if _, stderr, code = parseServe(t, []string{"--config", file}, nil); code != 2 || !strings.Contains(stderr, `"listen-tpc" is not a flag of quintupleo serve`) {
		t.Errorf("a misspelt key: exit %d: %s", code, stderr)
	}
	if _, stderr, code = parseServe(t, []string{"--listen-tcp", "127.0.0.1:0"}, map[string]string{"QUINTUPLEO_LOG_FORMAT": "xml"}); code != 2 || !strings.Contains(stderr, "QUINTUPLEO_LOG_FORMAT") {
		t.Errorf("a bad value in the environment: exit %d: %s", code, stderr)
	}
}

// TestConfigExampleParses: contrib/quintupleo.yaml is a valid configuration.
func TestConfigExampleParses(t *testing.T) {
	if _, stderr, code := parseServe(t, []string{"--config", filepath.Join("..", "..", "contrib", "quintupleo.yaml")}, nil); code != 0 {
		t.Fatalf("contrib/quintupleo.yaml: exit %d: %s", code, stderr)
	}
}

// TestConfigurationDocMatchesHelp holds docs/configuration.md to serve
// --help: every flag --help lists is in the page with the default --help
// shows (and the flag's own default when --help shows none), in the same
// group, and the page lists no flag --help lacks.
func TestConfigurationDocMatchesHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("serve --help: exit %d", code)
	}
	type entry struct{ group, line string }
	help := map[string]entry{}
	group := ""
	flagLine := regexp.MustCompile(`^\s+--([a-z0-9-]+)`)
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
			group = strings.TrimSuffix(l, ":")
			continue
		}
		if m := flagLine.FindStringSubmatch(l); m != nil {
			help[m[1]] = entry{group, l}
		}
	}
	if len(help) < 40 {
		t.Fatalf("read only %d flags from --help:\n%s", len(help), stderr.String())
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var cfg serveConfig
	cfg.flags(fs)
	registerConfig(fs)

	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| `([A-Z0-9_]+)` \\| (`([^`]*)`|\\*\\(none\\)\\*) \\|")
	documented := map[string]bool{}
	group = ""
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		l := sc.Text()
		if g, ok := strings.CutPrefix(l, "### "); ok {
			group = g
		}
		m := row.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name, env, def := m[1], m[2], m[4]
		documented[name] = true
		h, inHelp := help[name]
		if !inHelp {
			t.Errorf("docs/configuration.md documents --%s, which serve --help does not list", name)
			continue
		}
		if env != envName(name) {
			t.Errorf("--%s: documented variable %s, want %s", name, env, envName(name))
		}
		if h.group != group {
			t.Errorf("--%s: under %q in the docs, %q in --help", name, group, h.group)
		}
		if want := fs.Lookup(name).DefValue; def != want {
			t.Errorf("--%s: documented default %q, the flag's is %q", name, def, want)
		}
		// pflag shows a default that is not its type's zero value.
		zero := def == "" || def == "false" || def == "0" || def == "[]" || def == "0s"
		if !zero && !strings.HasSuffix(h.line, "(default "+def+")") && !strings.HasSuffix(h.line, `(default "`+def+`")`) {
			t.Errorf("--%s: documented default %q, --help says: %s", name, def, h.line)
		}
	}
	for name := range help {
		if !documented[name] {
			t.Errorf("serve --help lists --%s, which docs/configuration.md does not document", name)
		}
	}
	if _, ok := help["other"]; ok || strings.Contains(stderr.String(), "\nother:\n") {
		t.Error("serve --help has flags in no group (helpGroups)")
	}
}
