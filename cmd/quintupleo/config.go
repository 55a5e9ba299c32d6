package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Configuration from a file and the environment (docs/configuration.md).
// Every flag of a sub-command can also come from
//
//   - the environment: QUINTUPLEO_ and the flag's name in capitals with
//     "-" as "_" (QUINTUPLEO_LISTEN_SSH for --listen-ssh), and
//   - a YAML file (--config FILE, or $QUINTUPLEO_CONFIG): a mapping from
//     flag names, without the dashes, to values.
//
// The command line wins over the environment, which wins over the file,
// which wins over the defaults. YAML because the field already writes its
// cloud configuration in it (clouds.yaml) and the module is already ours; a
// flat mapping of the flags' own names, so the file, --help and the docs use
// one vocabulary.

// envPrefix starts the environment variable of every flag.
const envPrefix = "QUINTUPLEO_"

// envName is the environment variable of flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// registerConfig adds --config to fs.
func registerConfig(fs *pflag.FlagSet) *string {
	return fs.String("config", "", "YAML file of flag values (flag names without the dashes as keys; default $"+envPrefix+"CONFIG); the command line and "+envPrefix+"* variables win over it")
}

// applyConfig fills the flags the command line left unset from the
// environment, then from the config file.
func applyConfig(fs *pflag.FlagSet, file string, lookupEnv func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", envName(f.Name), err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if file == "" {
		file, _ = lookupEnv(envPrefix + "CONFIG")
	}
	if file == "" {
		return nil
	}
	return applyConfigFile(fs, file)
}

// applyConfigFile sets the flags still unset from the YAML file at path.
// An unknown key is an error (a misspelt flag must not be ignored).
func applyConfigFile(fs *pflag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	var values map[string]yaml.Node
	if err := yaml.NewDecoder(f).Decode(&values); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		flag := fs.Lookup(k)
		if flag == nil || k == "config" {
			return fmt.Errorf("--config %s: %q is not a flag of quintupleo %s", path, k, fs.Name())
		}
		if flag.Changed {
			continue
		}
		node := values[k]
		items, err := configValues(&node)
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
		for _, v := range items {
			if err := fs.Set(k, v); err != nil {
				return fmt.Errorf("--config %s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

// configValues is what a YAML value sets its flag to: a scalar once, each
// item of a sequence in turn (repeatable flags), a mapping as KEY=VALUE
// pairs (--network-map).
func configValues(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, errors.New("a list may hold only plain values")
			}
			out = append(out, item.Value)
		}
		return out, nil
	case yaml.MappingNode:
		var pairs []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, n.Content[i].Value+"="+n.Content[i+1].Value)
		}
		return []string{strings.Join(pairs, ",")}, nil
	}
	return nil, fmt.Errorf("unsupported YAML value (line %d)", n.Line)
}
