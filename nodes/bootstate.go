package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// BootStateFile is the file in --state-dir where the rescue strategy of
// earlier versions kept the boot devices chosen while a server was rescued
// (server ID → "disk" or "network"). Those now live in the cloud
// (rescuemark.go); MigrateBootState moves an old file's choices there.
const BootStateFile = "boot-devices.json"

// MigrateBootState applies each choice of an earlier version's state file
// in stateDir through the boot strategy (to the description mark while the
// server is still rescued, to metadata otherwise), then removes the file.
// Servers that are gone are skipped. On any other failure the file stays,
// whole, for the next start, and the error says which server failed. It
// returns how many choices were applied.
func (x *Executor) MigrateBootState(ctx context.Context, stateDir string) (int, error) {
	if stateDir == "" {
		return 0, nil
	}
	path := filepath.Join(stateDir, BootStateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("nodes: boot state: %w", err)
	}
	var pending map[string]BootDevice
	if err := json.Unmarshal(data, &pending); err != nil {
		return 0, fmt.Errorf("nodes: boot state %s: %w", path, err)
	}
	applied := 0
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		dev := pending[id]
		if dev != BootDisk && dev != BootNetwork {
			return applied, fmt.Errorf("nodes: boot state %s: server %s: unknown boot device %q", path, id, dev)
		}
		n, err := x.inv.Node(ctx, id)
		if errors.Is(err, ErrNotFound) {
			x.log.Info("boot state: server gone; its pending boot device is dropped", "server", id, "device", dev)
			continue
		}
		if err == nil {
			err = x.boot.Set(ctx, x, n, dev)
		}
		if err != nil {
			return applied, fmt.Errorf("nodes: boot state %s: move the boot device of %s into the cloud: %w", path, id, err)
		}
		applied++
	}
	if err := os.Remove(path); err != nil {
		return applied, fmt.Errorf("nodes: boot state: %w", err)
	}
	x.log.Info("boot state file moved into the cloud and removed", "file", path, "applied", applied)
	return applied, nil
}
