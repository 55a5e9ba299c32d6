package stack

import (
	"context"
	"fmt"

	"quintupleo/nodes"
)

// AddInventory connects to the cloud and builds the shared inventory over
// it, listing the cloud's servers once so that a wrong or unreachable cloud
// fails start-up rather than the first client. ctx bounds only that; the
// inventory's refresh loop runs with the stack.
func AddInventory(ctx context.Context, st *Stack, cloudCfg nodes.CloudConfig, invCfg nodes.InventoryConfig) (*nodes.Inventory, error) {
	if cloudCfg.Logger == nil {
		cloudCfg.Logger = invCfg.Logger // the retries of the cloud's requests
	}
	cloud, err := nodes.Connect(ctx, cloudCfg)
	if err != nil {
		return nil, err
	}
	inv := nodes.NewInventory(cloud, invCfg)
	if err := inv.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("first listing of the cloud's servers: %w", err)
	}
	st.Go("inventory", inv.Run)
	return inv, nil
}
