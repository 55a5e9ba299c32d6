package nodes

// SetBeforeFirstLoad makes inv call f when a reader has found nothing loaded
// yet and is about to load it: the window in which another caller's refresh
// can end. Tests use it to put a refresh exactly there.
func SetBeforeFirstLoad(inv *Inventory, f func()) { inv.beforeFirstLoad = f }
