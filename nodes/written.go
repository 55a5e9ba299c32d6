package nodes

// Store puts a server the caller has just read from the cloud into the
// inventory (read-your-writes), as the inventory's own actions do.
func (inv *Inventory) Store(n Node) { inv.apply(n) }

// Forget drops a server the caller has just deleted from the inventory.
func (inv *Inventory) Forget(id string) { inv.forget(id) }

// Provisioner is a Provisioner over the inventory's cloud that keeps the
// inventory current.
func (inv *Inventory) Provisioner(cfg ProvisionConfig) *Provisioner {
	return NewProvisioner(inv.cloud, inv, cfg)
}
