package nodes

// Store puts a server the caller has just read from the cloud into the
// inventory (read-your-writes), as the Executor's actions do.
func (inv *Inventory) Store(n Node) { inv.apply(n) }

// Forget drops a server the caller has just deleted from the inventory.
func (inv *Inventory) Forget(id string) { inv.forget(id) }

// Provisioner is a Provisioner over the executor's cloud that keeps its
// inventory current: creating and deleting servers changes nodes, which is
// the executor's part, never the cache's.
func (x *Executor) Provisioner(cfg ProvisionConfig) *Provisioner {
	return newProvisioner(x.inv.link, x.inv, cfg)
}
