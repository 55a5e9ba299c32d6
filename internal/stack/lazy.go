package stack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"quintupleo/driver/storage"
	"quintupleo/nodes"
	"quintupleo/nodes/cinder"
	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// The network and storage drivers of a shim started while the cloud could
// not be reached (docs/reliability.md, "Cloud down at start"). Whether the
// catalog has Neutron and Cinder, and the project the storage pool's UUID
// derives from, are known only once Keystone has answered, so these stand in
// for the clients: until then every call answers what the inventory does
// (VIR_ERR_OPERATION_FAILED, "cloud unavailable: ..."); from then on, the
// real client, or for a service the catalog lacks the VIR_ERR_NO_SUPPORT a
// shim started with the cloud up answers.

// unavailable is the libvirt error of a call that needs a cloud not
// reached yet, worded as driver/domain words nodes.ErrUnavailable.
func unavailable(from virt.ErrorDomain, err error) error {
	reason := "not connected to the cloud yet"
	if ne, ok := errors.AsType[*nodes.Error](err); ok && ne.Reason != "" {
		reason = ne.Reason
	}
	return virt.OperationFailed(from, "cloud unavailable: "+reason, err)
}

// lazyNeutron is the network driver's cloud (network.Cloud) before the
// catalog is known.
type lazyNeutron struct{ inv *nodes.Inventory }

func (l lazyNeutron) client() (*neutron.Client, error) {
	if err := l.inv.Unreachable(); err != nil {
		return nil, unavailable(virt.FromNetwork, err)
	}
	if nc := l.inv.Neutron(); nc != nil {
		return nc, nil
	}
	return nil, virt.NoSupport(virt.FromNetwork, "the cloud's catalog has no network service (Neutron)")
}

func (l lazyNeutron) List(ctx context.Context) ([]neutron.Network, error) {
	nc, err := l.client()
	if err != nil {
		return nil, err
	}
	return nc.List(ctx)
}

func (l lazyNeutron) CreateNetwork(ctx context.Context, spec neutron.NetworkSpec) (string, error) {
	nc, err := l.client()
	if err != nil {
		return "", err
	}
	return nc.CreateNetwork(ctx, spec)
}

func (l lazyNeutron) CreateSubnet(ctx context.Context, spec neutron.SubnetSpec) (string, error) {
	nc, err := l.client()
	if err != nil {
		return "", err
	}
	return nc.CreateSubnet(ctx, spec)
}

func (l lazyNeutron) SetAdminUp(ctx context.Context, id string, up bool) error {
	nc, err := l.client()
	if err != nil {
		return err
	}
	return nc.SetAdminUp(ctx, id, up)
}

func (l lazyNeutron) DeleteNetwork(ctx context.Context, id string) error {
	nc, err := l.client()
	if err != nil {
		return err
	}
	return nc.DeleteNetwork(ctx, id)
}

func (l lazyNeutron) Ports(ctx context.Context, networkID string) ([]neutron.Port, error) {
	nc, err := l.client()
	if err != nil {
		return nil, err
	}
	return nc.Ports(ctx, networkID)
}

// lazyStorage is the storage driver (rpc.Storage, domain.Volumes) built
// once the catalog is known: with Cinder, or without (each call then says
// the catalog has none, as today).
type lazyStorage struct {
	inv      *nodes.Inventory
	cinder   cinder.Config
	cfg      storage.Config
	poolName string // PoolName needs no cloud

	mu sync.Mutex // serialises the build
	d  atomic.Pointer[storage.Driver]
}

func newLazyStorage(inv *nodes.Inventory, cc cinder.Config, cfg storage.Config) *lazyStorage {
	return &lazyStorage{inv: inv, cinder: cc, cfg: cfg, poolName: storage.New(nil, cfg).PoolName()}
}

func (s *lazyStorage) driver() (*storage.Driver, error) {
	if d := s.d.Load(); d != nil {
		return d, nil
	}
	if err := s.inv.Unreachable(); err != nil {
		return nil, unavailable(virt.FromStorage, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.d.Load(); d != nil {
		return d, nil
	}
	d := storage.New(s.inv.Cinder(s.cinder), s.cfg)
	s.d.Store(d)
	return d, nil
}

// with calls f on the driver once there is one.
func with[T any](s *lazyStorage, f func(*storage.Driver) (T, error)) (T, error) {
	d, err := s.driver()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(d)
}

func (s *lazyStorage) do(f func(*storage.Driver) error) error {
	d, err := s.driver()
	if err != nil {
		return err
	}
	return f(d)
}

func (s *lazyStorage) Pools(ctx context.Context, flags uint32) ([]storage.Pool, error) {
	return with(s, func(d *storage.Driver) ([]storage.Pool, error) { return d.Pools(ctx, flags) })
}

func (s *lazyStorage) PoolByName(ctx context.Context, name string) (storage.Pool, error) {
	return with(s, func(d *storage.Driver) (storage.Pool, error) { return d.PoolByName(ctx, name) })
}

func (s *lazyStorage) PoolByUUID(ctx context.Context, u virt.UUID) (storage.Pool, error) {
	return with(s, func(d *storage.Driver) (storage.Pool, error) { return d.PoolByUUID(ctx, u) })
}

func (s *lazyStorage) PoolByTargetPath(ctx context.Context, path string) (storage.Pool, error) {
	return with(s, func(d *storage.Driver) (storage.Pool, error) { return d.PoolByTargetPath(ctx, path) })
}

func (s *lazyStorage) PoolInfo(ctx context.Context, u virt.UUID) (storage.PoolInfo, error) {
	return with(s, func(d *storage.Driver) (storage.PoolInfo, error) { return d.PoolInfo(ctx, u) })
}

func (s *lazyStorage) PoolXML(ctx context.Context, u virt.UUID, flags uint32) (string, error) {
	return with(s, func(d *storage.Driver) (string, error) { return d.PoolXML(ctx, u, flags) })
}

func (s *lazyStorage) DefinePool(ctx context.Context, xml string) (storage.Pool, error) {
	return with(s, func(d *storage.Driver) (storage.Pool, error) { return d.DefinePool(ctx, xml) })
}

func (s *lazyStorage) StartPool(ctx context.Context, u virt.UUID) error {
	return s.do(func(d *storage.Driver) error { return d.StartPool(ctx, u) })
}

func (s *lazyStorage) BuildPool(ctx context.Context, u virt.UUID) error {
	return s.do(func(d *storage.Driver) error { return d.BuildPool(ctx, u) })
}

func (s *lazyStorage) RefreshPool(ctx context.Context, u virt.UUID) error {
	return s.do(func(d *storage.Driver) error { return d.RefreshPool(ctx, u) })
}

func (s *lazyStorage) SetPoolAutostart(ctx context.Context, u virt.UUID, on bool) error {
	return s.do(func(d *storage.Driver) error { return d.SetPoolAutostart(ctx, u, on) })
}

func (s *lazyStorage) Volumes(ctx context.Context, pool virt.UUID) ([]storage.Volume, error) {
	return with(s, func(d *storage.Driver) ([]storage.Volume, error) { return d.Volumes(ctx, pool) })
}

func (s *lazyStorage) VolumeByName(ctx context.Context, pool virt.UUID, name string) (storage.Volume, error) {
	return with(s, func(d *storage.Driver) (storage.Volume, error) { return d.VolumeByName(ctx, pool, name) })
}

func (s *lazyStorage) VolumeByKey(ctx context.Context, key string) (storage.Volume, error) {
	return with(s, func(d *storage.Driver) (storage.Volume, error) { return d.VolumeByKey(ctx, key) })
}

func (s *lazyStorage) VolumeByPath(ctx context.Context, path string) (storage.Volume, error) {
	return with(s, func(d *storage.Driver) (storage.Volume, error) { return d.VolumeByPath(ctx, path) })
}

func (s *lazyStorage) CreateVolume(ctx context.Context, pool virt.UUID, xml string, flags uint32) (storage.Volume, error) {
	return with(s, func(d *storage.Driver) (storage.Volume, error) { return d.CreateVolume(ctx, pool, xml, flags) })
}

func (s *lazyStorage) DeleteVolume(ctx context.Context, key string, flags uint32) error {
	return s.do(func(d *storage.Driver) error { return d.DeleteVolume(ctx, key, flags) })
}

func (s *lazyStorage) VolumeXML(ctx context.Context, key string) (string, error) {
	return with(s, func(d *storage.Driver) (string, error) { return d.VolumeXML(ctx, key) })
}

func (s *lazyStorage) PoolName() string { return s.poolName }

// DiskVolume and VolumePath are domain.Volumes: a domain's disks.
func (s *lazyStorage) DiskVolume(ctx context.Context, path, pool, volume string) (string, bool, error) {
	d, err := s.driver()
	if err != nil {
		return "", false, err
	}
	return d.DiskVolume(ctx, path, pool, volume)
}

func (s *lazyStorage) VolumePath(ctx context.Context, id string) string {
	d, err := s.driver()
	if err != nil {
		return "" // unknown, as for a volume Cinder does not show
	}
	return d.VolumePath(ctx, id)
}
