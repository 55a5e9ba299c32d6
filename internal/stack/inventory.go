package stack

import (
	"context"
	"errors"
	"fmt"

	"quintupleo/nodes"
)

// AddInventory builds the shared inventory over the cloud and tries it once:
// authentication, the catalog and a first listing of the servers, within
// ctx and the cloud's request deadline.
//
// What retrying cannot fix fails start-up at once: a configuration error
// (no such cloud in clouds.yaml, a malformed auth URL), or the cloud
// refusing us (Keystone's 401 for the credentials, another 4xx, a catalog
// without Nova). A cloud that cannot be reached (refused, no such host, no
// answer within the deadline, 5xx) does not: the shim starts, says so once
// at warn, serves what needs no cloud and answers the rest with the error,
// while the inventory's refresh loop keeps trying (docs/reliability.md,
// "Cloud down at start"). The loop runs with the stack.
func AddInventory(ctx context.Context, st *Stack, cloudCfg nodes.CloudConfig, invCfg nodes.InventoryConfig) (*nodes.Inventory, error) {
	if cloudCfg.Logger == nil {
		cloudCfg.Logger = invCfg.Logger // the retries of the cloud's requests
	}
	link, err := nodes.NewLink(cloudCfg)
	if err != nil {
		return nil, err
	}
	inv := nodes.NewLinkedInventory(link, invCfg)
	if err := firstContact(ctx, link, inv); err != nil {
		if !nodes.Retryable(err) {
			// The link's error words it for clients ("cloud
			// unavailable"); start-up says what the cloud answered.
			if ne, ok := errors.AsType[*nodes.Error](err); ok && ne.Err != nil && ne.Op == nodes.OpConnect {
				err = ne.Err
			}
			return nil, fmt.Errorf("%w (the cloud at %s answered; retrying would not change it)", err, link.AuthURL())
		}
		st.log.Warn("cloud unavailable at start: serving what it can, retrying",
			"url", link.AuthURL(), "err", err, "refresh_interval", inv.Config().RefreshInterval)
	}
	st.Go("inventory", inv.Run)
	return inv, nil
}

// firstContact connects and lists the servers once.
func firstContact(ctx context.Context, link *nodes.Link, inv *nodes.Inventory) error {
	if _, err := link.Cloud(ctx); err != nil {
		return err
	}
	if err := inv.Refresh(ctx); err != nil {
		return fmt.Errorf("first listing of the cloud's servers: %w", err)
	}
	return nil
}
