package rpc

import (
	"context"
	"encoding/binary"
	"net/url"
	"strings"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

// Driver features (virDrvFeature) CONNECT_SUPPORTS_FEATURE answers 1 for.
const (
	featureProgramKeepalive    = 10 // VIR_DRV_FEATURE_PROGRAM_KEEPALIVE
	featureRemoteCloseCallback = 14 // VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK
	featureRemoteEventCallback = 15 // VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK
)

// authNone is REMOTE_AUTH_NONE.
const authNone libvirt.AuthType = 0

// defaultURI is what a connection opened with no name is connected to.
const defaultURI = "qemu:///system"

func authList(ctx context.Context, c *conn, _ *none) (*libvirt.AuthListRet, error) {
	// Authentication is the transport's business (loopback TCP, unix socket
	// permissions, SSH); like libvirtd with auth_tcp=none we offer "none".
	return &libvirt.AuthListRet{Types: []libvirt.AuthType{authNone}}, nil
}

func connectSupportsFeature(ctx context.Context, c *conn, a *libvirt.ConnectSupportsFeatureArgs) (*libvirt.ConnectSupportsFeatureRet, error) {
	// libvirtd answers the keepalive feature before CONNECT_OPEN (it is
	// asked first) and needs an open connection for the others.
	if a.Feature == featureProgramKeepalive {
		c.startKeepalive()
		return &libvirt.ConnectSupportsFeatureRet{Supported: 1}, nil
	}
	if !c.isOpen() {
		return nil, errNotOpenFeature()
	}
	switch a.Feature {
	case featureRemoteCloseCallback, featureRemoteEventCallback:
		return &libvirt.ConnectSupportsFeatureRet{Supported: 1}, nil
	}
	return &libvirt.ConnectSupportsFeatureRet{Supported: 0}, nil
}

// connectOpen decodes its own arguments: go-libvirt's client encodes the
// optional name's "present" word as 0x01000000, which libvirtd accepts (XDR
// booleans are any non-zero word there) but xdr2 would read as an array
// length.
func connectOpen(ctx context.Context, c *conn, body []byte) (any, error) {
	name, flags, err := decodeConnectOpen(body)
	if err != nil {
		return nil, errDecode(err)
	}
	uri, err := acceptURI(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened {
		return nil, errAlreadyOpen()
	}
	c.opened = true
	c.uri = uri
	c.readOnly = c.forceRO || flags&connectFlagRO != 0
	c.log.Debug("rpc: connection opened", "uri", uri, "readonly", c.readOnly)
	return nil, nil
}

func decodeConnectOpen(b []byte) (name string, flags uint32, err error) {
	word := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.BigEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	present, ok := word()
	if !ok {
		return "", 0, errShortBody
	}
	if present != 0 {
		n, ok := word()
		if !ok || uint64(n) > uint64(len(b)) {
			return "", 0, errShortBody
		}
		name = string(b[:n])
		pad := (4 - n%4) % 4
		if uint64(n+pad) > uint64(len(b)) {
			return "", 0, errShortBody
		}
		b = b[n+pad:]
	}
	flags, ok = word()
	if !ok {
		return "", 0, errShortBody
	}
	return name, flags, nil
}

// acceptURI decides whether we serve the name a client opens, and returns
// the URI it is known by. We are the system QEMU driver: qemu:///system,
// qemu:///session (both name the same cloud), and the default (no name).
func acceptURI(name string) (string, error) {
	if name == "" {
		return defaultURI, nil
	}
	u, err := url.Parse(name)
	if err != nil || !strings.EqualFold(u.Scheme, "qemu") {
		return "", errNoConnect(name)
	}
	switch u.Path {
	case "/system", "/session":
		return name, nil
	}
	return "", errBadQEMUPath(u.Path)
}

func connectClose(ctx context.Context, c *conn, _ *none) (*none, error) {
	c.stopEvents()
	return nil, nil
}

// Close callbacks: the remote driver asks the daemon to tell it when the
// hypervisor connection closes. Our hypervisor connection lives as long as
// the client's, so there is nothing to send; registering just succeeds.
func connectRegisterCloseCallback(ctx context.Context, c *conn, _ *none) (*none, error) {
	return nil, nil
}

func connectUnregisterCloseCallback(ctx context.Context, c *conn, _ *none) (*none, error) {
	return nil, nil
}

func connectGetType(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetTypeRet, error) {
	return &libvirt.ConnectGetTypeRet{Type: c.srv.drivers.Host.Type()}, nil
}

func connectGetVersion(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetVersionRet, error) {
	return &libvirt.ConnectGetVersionRet{HvVer: c.srv.drivers.Host.Version()}, nil
}

func connectGetLibVersion(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetLibVersionRet, error) {
	return &libvirt.ConnectGetLibVersionRet{LibVer: c.srv.drivers.Host.LibVersion()}, nil
}

func connectGetHostname(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetHostnameRet, error) {
	h, err := c.srv.drivers.Host.Hostname(ctx)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectGetHostnameRet{Hostname: h}, nil
}

func connectGetURI(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetUriRet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &libvirt.ConnectGetUriRet{Uri: c.uri}, nil
}

func connectGetCapabilities(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectGetCapabilitiesRet, error) {
	caps, err := c.srv.drivers.Host.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectGetCapabilitiesRet{Capabilities: caps}, nil
}

// maxVcpus is what CONNECT_GET_MAX_VCPUS claims: the largest flavor a
// cloud commonly offers is well below it, and virsh only displays it.
const maxVcpus = 255

func connectGetMaxVcpus(ctx context.Context, c *conn, _ *libvirt.ConnectGetMaxVcpusArgs) (*libvirt.ConnectGetMaxVcpusRet, error) {
	return &libvirt.ConnectGetMaxVcpusRet{MaxVcpus: maxVcpus}, nil
}

func connectIsSecure(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectIsSecureRet, error) {
	// As a local driver would; the client ANDs in its transport's security.
	return &libvirt.ConnectIsSecureRet{Secure: 1}, nil
}

// remoteDomainListMax is REMOTE_DOMAIN_LIST_MAX.
const remoteDomainListMax = 16384

func connectNumOfDomains(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfDomainsRet, error) {
	doms, err := c.srv.drivers.Domains.List(ctx, virt.ListActive)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectNumOfDomainsRet{Num: int32(len(doms))}, nil
}

func connectListDomains(ctx context.Context, c *conn, a *libvirt.ConnectListDomainsArgs) (*libvirt.ConnectListDomainsRet, error) {
	if a.Maxids > remoteDomainListMax {
		return nil, errRPC("maxids > REMOTE_DOMAIN_LIST_MAX", nil)
	}
	doms, err := c.srv.drivers.Domains.List(ctx, virt.ListActive)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.ConnectListDomainsRet{Ids: []int32{}}
	for _, d := range doms {
		if len(ret.Ids) >= int(a.Maxids) {
			break
		}
		ret.Ids = append(ret.Ids, d.ID)
	}
	return ret, nil
}

func connectNumOfDefinedDomains(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfDefinedDomainsRet, error) {
	doms, err := c.srv.drivers.Domains.List(ctx, virt.ListInactive)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectNumOfDefinedDomainsRet{Num: int32(len(doms))}, nil
}

func connectListDefinedDomains(ctx context.Context, c *conn, a *libvirt.ConnectListDefinedDomainsArgs) (*libvirt.ConnectListDefinedDomainsRet, error) {
	if a.Maxnames > remoteDomainListMax {
		return nil, errRPC("maxnames > REMOTE_DOMAIN_LIST_MAX", nil)
	}
	doms, err := c.srv.drivers.Domains.List(ctx, virt.ListInactive)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.ConnectListDefinedDomainsRet{Names: []string{}}
	for _, d := range doms {
		if len(ret.Names) >= int(a.Maxnames) {
			break
		}
		ret.Names = append(ret.Names, d.Name)
	}
	return ret, nil
}
