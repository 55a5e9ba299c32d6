package storage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sync"
	"time"

	"quintupleo/nodes/cinder"
	"quintupleo/virt"
)

// Config tunes a Driver.
type Config struct {
	PoolName string // --storage-pool; default "default"
	PoolPath string // --storage-pool-path: the target directory volumes' paths are under; default /var/lib/libvirt/images
	// CacheFor is how long one listing of the volumes answers lookups by
	// key and path (virsh vol-list asks for each volume's path; dumpxml
	// names each disk's path). Our own creates and deletes update it at
	// once. Default 2s, the inventory's refresh interval.
	CacheFor time.Duration
	Logger   *slog.Logger
}

// Pool is the one storage pool.
type Pool struct {
	Name string
	UUID virt.UUID
}

// PoolInfo is virStoragePoolGetInfo's answer.
type PoolInfo struct {
	State                           int32
	Capacity, Allocation, Available uint64
}

// volumeCloud is what the driver asks of Cinder (nodes/cinder.Client); a
// test gives it a cloud that holds a listing while a change is made.
type volumeCloud interface {
	Project() string
	List(ctx context.Context) ([]cinder.Volume, error)
	Get(ctx context.Context, id string) (cinder.Volume, error)
	Usage(ctx context.Context) (cinder.Usage, error)
	Create(ctx context.Context, spec cinder.CreateSpec) (cinder.Volume, error)
	Delete(ctx context.Context, id string) error
	WaitReleased(ctx context.Context, id string) error
}

// Driver is the storage driver. cc nil means the cloud has no Cinder.
type Driver struct {
	cc   volumeCloud
	cfg  Config
	log  *slog.Logger
	pool Pool

	mu sync.Mutex
	// mu guards:
	vols     []Volume
	listedAt time.Time
	gen      uint64 // counts forget()s: a listing begun before one is not cached
}

// New is the storage driver over cc (nil: the catalog has no Cinder).
func New(cc *cinder.Client, cfg Config) *Driver {
	if cc == nil {
		return newDriver(nil, cfg) // a nil interface, not a nil *Client in one
	}
	return newDriver(cc, cfg)
}

func newDriver(cc volumeCloud, cfg Config) *Driver {
	cfg.PoolName = cmp.Or(cfg.PoolName, "default")
	cfg.PoolPath = path.Clean(cmp.Or(cfg.PoolPath, "/var/lib/libvirt/images"))
	cfg.CacheFor = cmp.Or(cfg.CacheFor, 2*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Driver{cc: cc, cfg: cfg, log: cfg.Logger, pool: Pool{Name: cfg.PoolName}}
	project := ""
	if cc != nil {
		project = cc.Project()
	}
	d.pool.UUID = poolUUID(project, cfg.PoolName)
	return d
}

// poolUUID is the same on every replica serving the project: a name-based
// (version 5 style) UUID of the project and the pool name.
func poolUUID(project, name string) virt.UUID {
	h := sha256.Sum256([]byte("quintupleo storage pool\x00" + project + "\x00" + name))
	var u virt.UUID
	copy(u[:], h[:16])
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// ready fails every call on a cloud without Cinder.
func (d *Driver) ready() error {
	if d.cc == nil {
		return virt.NoSupport(from, "the cloud's catalog has no block-storage service (Cinder); storage pools and volumes need it")
	}
	return nil
}

// Pools lists the pool, filtered by virConnectListAllStoragePoolsFlags.
func (d *Driver) Pools(ctx context.Context, flags uint32) ([]Pool, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if !matches(virt.StoragePoolListFlags(flags)) {
		return nil, nil
	}
	return []Pool{d.pool}, nil
}

// matches reports whether the pool (active, persistent, autostarted, of
// type dir) passes the filter flags, each pair of which is an "either".
func matches(flags virt.StoragePoolListFlags) bool {
	pair := func(yes, no virt.StoragePoolListFlags, is bool) bool {
		f := flags & (yes | no)
		return f == 0 || f == yes|no || (is && f == yes) || (!is && f == no)
	}
	if t := flags & virt.PoolListTypes; t != 0 && t&virt.PoolListDir == 0 {
		return false
	}
	return pair(virt.PoolListActive, virt.PoolListInactive, true) && pair(virt.PoolListPersistent, virt.PoolListTransient, true) &&
		pair(virt.PoolListAutostart, virt.PoolListNoAutostart, true)
}

// PoolByName looks the pool up by name.
func (d *Driver) PoolByName(ctx context.Context, name string) (Pool, error) {
	if err := d.ready(); err != nil {
		return Pool{}, err
	}
	if name != d.pool.Name {
		return Pool{}, virt.NoStoragePool(fmt.Sprintf("no storage pool with matching name '%s'", name))
	}
	return d.pool, nil
}

// PoolByUUID looks the pool up by UUID.
func (d *Driver) PoolByUUID(ctx context.Context, u virt.UUID) (Pool, error) {
	if err := d.ready(); err != nil {
		return Pool{}, err
	}
	if u != d.pool.UUID {
		return Pool{}, virt.NoStoragePool(fmt.Sprintf("no storage pool with matching uuid '%s'", u))
	}
	return d.pool, nil
}

// PoolByTargetPath looks the pool up by its target directory.
func (d *Driver) PoolByTargetPath(ctx context.Context, p string) (Pool, error) {
	if err := d.ready(); err != nil {
		return Pool{}, err
	}
	if path.Clean(p) != d.cfg.PoolPath {
		return Pool{}, virt.NoStoragePool(fmt.Sprintf("no storage pool with matching target path '%s'", p))
	}
	return d.pool, nil
}

// PoolInfo is the pool's state and the project's gigabytes quota: capacity
// is the limit, allocation what the project's volumes use of it (reserved
// included), available the rest. An unlimited quota has no capacity to
// tell: an error, never a made-up number.
func (d *Driver) PoolInfo(ctx context.Context, u virt.UUID) (PoolInfo, error) {
	if _, err := d.PoolByUUID(ctx, u); err != nil {
		return PoolInfo{}, err
	}
	use, err := d.cc.Usage(ctx)
	if err != nil {
		return PoolInfo{}, fromCinder(err)
	}
	if use.LimitGiB < 0 {
		return PoolInfo{}, virt.OperationFailed(from, fmt.Sprintf("the capacity of storage pool '%s' is unknown: the project's Cinder gigabytes quota is unlimited", d.pool.Name), nil)
	}
	alloc := uint64(max(0, use.InUseGiB+use.ReservedGiB)) * gib
	capacity := uint64(use.LimitGiB) * gib
	// The pool is running whenever Cinder is there.
	return PoolInfo{State: virt.PoolRunning, Capacity: capacity, Allocation: alloc, Available: capacity - min(capacity, alloc)}, nil
}

// PoolXML is the pool's XML, as libvirt writes a dir pool's.
func (d *Driver) PoolXML(ctx context.Context, u virt.UUID, flags uint32) (string, error) {
	info, err := d.PoolInfo(ctx, u)
	if err != nil {
		return "", err
	}
	return poolXML(d.pool, d.cfg.PoolPath, info), nil
}

// DefinePool answers pool-define-as and pool-create-as: the one pool always
// exists, so its name gets libvirt's "already exists"; another pool cannot
// be made.
func (d *Driver) DefinePool(ctx context.Context, xml string) (Pool, error) {
	if err := d.ready(); err != nil {
		return Pool{}, err
	}
	def, err := parsePoolXML(xml)
	if err != nil {
		return Pool{}, err
	}
	switch {
	case def.Name == d.pool.Name:
		return Pool{}, virt.OperationFailed(from, fmt.Sprintf("pool '%s' already exists with uuid %s", def.Name, d.pool.UUID), nil)
	case def.UUID == d.pool.UUID.String():
		return Pool{}, virt.OperationFailed(from, fmt.Sprintf("pool '%s' is already defined with uuid %s", d.pool.Name, d.pool.UUID), nil)
	}
	return Pool{}, virt.ConfigUnsupported(from, fmt.Sprintf("the cloud's storage is one pool, '%s' (the project's Cinder volumes); pool '%s' cannot be defined", d.pool.Name, def.Name))
}

// StartPool and BuildPool answer pool-start and pool-build: the pool is
// always active, which libvirt refuses both for.
func (d *Driver) StartPool(ctx context.Context, u virt.UUID) error { return d.alreadyActive(ctx, u) }

// BuildPool: see StartPool.
func (d *Driver) BuildPool(ctx context.Context, u virt.UUID) error { return d.alreadyActive(ctx, u) }

func (d *Driver) alreadyActive(ctx context.Context, u virt.UUID) error {
	if _, err := d.PoolByUUID(ctx, u); err != nil {
		return err
	}
	return virt.OperationInvalid(from, fmt.Sprintf("storage pool '%s' is already active", d.pool.Name), nil)
}

// RefreshPool forgets the cached listing: the next read lists Cinder.
func (d *Driver) RefreshPool(ctx context.Context, u virt.UUID) error {
	if _, err := d.PoolByUUID(ctx, u); err != nil {
		return err
	}
	_, err := d.list(ctx)
	return err
}

// SetPoolAutostart accepts autostart on, which the pool always has: Cinder
// is there whenever the cloud is. Off cannot be honoured.
func (d *Driver) SetPoolAutostart(ctx context.Context, u virt.UUID, on bool) error {
	if _, err := d.PoolByUUID(ctx, u); err != nil {
		return err
	}
	if !on {
		return virt.ConfigUnsupported(from, fmt.Sprintf("storage pool '%s' is the project's Cinder volumes, which are there whenever the cloud is; it cannot be marked not to autostart", d.pool.Name))
	}
	return nil
}
