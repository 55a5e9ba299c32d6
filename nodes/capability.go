package nodes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// The facts `quintupleo check` reads from the cloud: plain values, no
// gophercloud types, so the command above judges them without importing
// gophercloud. Everything here only reads, except the two Probe methods,
// which write and undo.

// ComputeMicroversion is the compute microversion quintupleo speaks; a
// cloud whose newest is older cannot serve it at all.
const ComputeMicroversion = novaMicroversion

// Identity is what the token says about the user.
type Identity struct {
	User, UserDomain string
	// Project is "" when the token is not scoped to a project.
	Project, ProjectID, ProjectDomain string
	// Roles are the role names, sorted; Keystone lists implied roles too
	// (admin implies member implies reader).
	Roles []string
	// Services are the catalog's service types, sorted.
	Services []string
}

// HasRole reports whether the token carries role name.
func (id Identity) HasRole(name string) bool { return slices.Contains(id.Roles, name) }

// tokenFacts is what Keystone's create and get answers both offer.
type tokenFacts interface {
	ExtractUser() (*tokens.User, error)
	ExtractProject() (*tokens.Project, error)
	ExtractRoles() ([]tokens.Role, error)
	ExtractServiceCatalog() (*tokens.ServiceCatalog, error)
}

// Identity reads the token the cloud was authenticated with; it sends no
// request.
func (c *Cloud) Identity() (Identity, error) {
	facts, ok := c.Compute.ProviderClient.GetAuthResult().(tokenFacts)
	if !ok {
		return Identity{}, errors.New("nodes: the token is not a Keystone v3 token")
	}
	var id Identity
	user, err := facts.ExtractUser()
	if err != nil {
		return id, fmt.Errorf("nodes: token user: %w", err)
	}
	id.User, id.UserDomain = user.Name, user.Domain.Name
	if p, err := facts.ExtractProject(); err == nil && p != nil {
		id.Project, id.ProjectID, id.ProjectDomain = p.Name, p.ID, p.Domain.Name
	}
	roles, err := facts.ExtractRoles()
	if err != nil {
		return id, fmt.Errorf("nodes: token roles: %w", err)
	}
	for _, r := range roles {
		id.Roles = append(id.Roles, r.Name)
	}
	sort.Strings(id.Roles)
	if cat, err := facts.ExtractServiceCatalog(); err == nil && cat != nil {
		for _, e := range cat.Entries {
			id.Services = append(id.Services, e.Type)
		}
	}
	sort.Strings(id.Services)
	return id, nil
}

// Microversions is the compute API's microversion range, 2.Min to 2.Max.
type Microversions struct{ Min, Max int }

// Supports reports whether 2.minor is in the range.
func (m Microversions) Supports(minor int) bool { return m.Min <= minor && minor <= m.Max }

// ComputeMicroversions reads the range from the compute version document.
func (c *Cloud) ComputeMicroversions(ctx context.Context) (Microversions, error) {
	v, err := utils.GetSupportedMicroversions(ctx, c.Compute)
	if err != nil {
		return Microversions{}, classify("read the compute version document", err)
	}
	if v.MinMajor != 2 || v.MaxMajor != 2 {
		return Microversions{}, fmt.Errorf("nodes: compute microversions %d.%d to %d.%d: not 2.x", v.MinMajor, v.MinMinor, v.MaxMajor, v.MaxMinor)
	}
	return Microversions{Min: v.MinMinor, Max: v.MaxMinor}, nil
}

// Servers lists every server the user sees, no node filter applied.
func (c *Cloud) Servers(ctx context.Context) ([]Node, error) {
	var all []Node
	if err := listServers(ctx, c.Compute, time.Time{}, func(n Node) { all = append(all, n) }); err != nil {
		return nil, classify("list servers", err)
	}
	return all, nil
}

// Exclusion is why a server is not a node.
type Exclusion int

// The reasons, in the order the filters apply.
const (
	Included           Exclusion = iota
	ExcludedByName               // the name does not match NameRegex
	ExcludedByMetadata           // the metadata lacks MetadataKey (or its value differs)
)

// Excludes says whether the filters of cfg make n a node, and if not why.
func (cfg *InventoryConfig) Excludes(n Node) Exclusion {
	if cfg.NameRegex != nil && !cfg.NameRegex.MatchString(n.Name) {
		return ExcludedByName
	}
	if cfg.MetadataKey != "" {
		v, ok := n.Metadata[cfg.MetadataKey]
		if !ok || (cfg.MetadataValue != "" && v != cfg.MetadataValue) {
			return ExcludedByMetadata
		}
	}
	return Included
}

// Image is a Glance image and its properties (hw_firmware_type,
// os_shutdown_timeout, …) as text.
type Image struct {
	ID, Name, Status string
	Properties       map[string]string
}

// ImageByID reads the image with this ID; a missing one is ErrNotFound.
func (c *Cloud) ImageByID(ctx context.Context, id string) (Image, error) {
	img, err := images.Get(ctx, c.Image, id).Extract()
	if err != nil {
		return Image{}, classify("get image "+id, err)
	}
	return imageOf(img), nil
}

// FindImage finds an image by ID, else by its name, which must be unique.
// Any failure to get it by ID sends it to the name search (Glance answers a
// name there with a 404, but need not).
func (c *Cloud) FindImage(ctx context.Context, nameOrID string) (Image, error) {
	if img, err := c.ImageByID(ctx, nameOrID); err == nil {
		return img, nil
	}
	var found []Image
	err := images.List(c.Image, images.ListOpts{Name: nameOrID}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		imgs, err := images.ExtractImages(p)
		for i := range imgs {
			found = append(found, imageOf(&imgs[i]))
		}
		return true, err
	})
	if err != nil {
		return Image{}, classify("find image "+nameOrID, err)
	}
	if len(found) != 1 {
		return Image{}, &Error{Op: "find image " + nameOrID, Kind: ErrNotFound,
			Reason: fmt.Sprintf("%d images named %q", len(found), nameOrID)}
	}
	return found[0], nil
}

func imageOf(img *images.Image) Image {
	out := Image{ID: img.ID, Name: img.Name, Status: string(img.Status), Properties: map[string]string{}}
	for k, v := range img.Properties {
		if s, ok := v.(string); ok {
			out.Properties[k] = s
		} else if v != nil {
			out.Properties[k] = fmt.Sprint(v)
		}
	}
	return out
}

// Network is a Neutron network with its subnets.
type Network struct {
	ID, Name, ProjectID string
	Shared              bool
	PortSecurity        bool
	Subnets             []Subnet
}

// Subnet is the part of a Neutron subnet the check reads.
type Subnet struct {
	ID, Name, CIDR string
	DHCP           bool
}

// NetworkPort is a Neutron port, reduced.
type NetworkPort struct {
	ID, Name, MAC, DeviceID string
	PortSecurity            bool
}

// NetworksNamed lists the networks called name (Neutron allows several),
// with their subnets.
func (c *Cloud) NetworksNamed(ctx context.Context, name string) ([]Network, error) {
	if err := c.needNetwork("list networks named " + name); err != nil {
		return nil, err
	}
	page, err := networks.List(c.Network, networks.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, classify("list networks named "+name, err)
	}
	var body struct {
		Networks []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			ProjectID    string `json:"project_id"`
			Shared       bool   `json:"shared"`
			PortSecurity *bool  `json:"port_security_enabled"`
		} `json:"networks"`
	}
	if err := page.(networks.NetworkPage).ExtractInto(&body); err != nil {
		return nil, fmt.Errorf("nodes: networks named %s: %w", name, err)
	}
	var out []Network
	for _, n := range body.Networks {
		// Without the port-security extension there is no port security.
		net := Network{ID: n.ID, Name: n.Name, ProjectID: n.ProjectID, Shared: n.Shared, PortSecurity: n.PortSecurity != nil && *n.PortSecurity}
		spage, err := subnets.List(c.Network, subnets.ListOpts{NetworkID: n.ID}).AllPages(ctx)
		if err != nil {
			return nil, classify("list subnets of "+n.ID, err)
		}
		sns, err := subnets.ExtractSubnets(spage)
		if err != nil {
			return nil, fmt.Errorf("nodes: subnets of %s: %w", n.ID, err)
		}
		for _, s := range sns {
			net.Subnets = append(net.Subnets, Subnet{ID: s.ID, Name: s.Name, CIDR: s.CIDR, DHCP: s.EnableDHCP})
		}
		out = append(out, net)
	}
	return out, nil
}

// Ports lists the ports on a network.
func (c *Cloud) Ports(ctx context.Context, networkID string) ([]NetworkPort, error) {
	if err := c.needNetwork("list ports of " + networkID); err != nil {
		return nil, err
	}
	page, err := ports.List(c.Network, ports.ListOpts{NetworkID: networkID}).AllPages(ctx)
	if err != nil {
		return nil, classify("list ports of "+networkID, err)
	}
	var body struct {
		Ports []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			MAC          string `json:"mac_address"`
			DeviceID     string `json:"device_id"`
			PortSecurity *bool  `json:"port_security_enabled"`
		} `json:"ports"`
	}
	if err := page.(ports.PortPage).ExtractInto(&body); err != nil {
		return nil, fmt.Errorf("nodes: ports of %s: %w", networkID, err)
	}
	out := make([]NetworkPort, 0, len(body.Ports))
	for _, p := range body.Ports {
		out = append(out, NetworkPort{ID: p.ID, Name: p.Name, MAC: strings.ToLower(p.MAC), DeviceID: p.DeviceID,
			PortSecurity: p.PortSecurity != nil && *p.PortSecurity})
	}
	return out, nil
}

// ProbeKey is the metadata key and port name ProbeMetadata and ProbePortMAC
// write, so an operator who finds one left behind knows what made it.
const ProbeKey = "quintupleo-check-probe"

// ProbeMetadata writes ProbeKey on server id, reads it back and removes it:
// whether Nova keeps the metadata every boot strategy records the boot
// device in. It leaves the server's other metadata alone.
func (c *Cloud) ProbeMetadata(ctx context.Context, id string) error {
	const value = "written by quintupleo check; safe to delete"
	if _, err := servers.CreateMetadatum(ctx, c.Compute, id, servers.MetadatumOpts{ProbeKey: value}).Extract(); err != nil {
		return probeError("write metadata "+ProbeKey, err)
	}
	got, readErr := servers.Metadatum(ctx, c.Compute, id, ProbeKey).Extract()
	if err := servers.DeleteMetadatum(ctx, c.Compute, id, ProbeKey).ExtractErr(); err != nil {
		return probeError("remove metadata "+ProbeKey, err)
	}
	if readErr != nil {
		return probeError("read metadata "+ProbeKey+" back", readErr)
	}
	if got[ProbeKey] != value {
		return fmt.Errorf("nodes: metadata %s read back as %q, written as %q", ProbeKey, got[ProbeKey], value)
	}
	if _, err := servers.Metadatum(ctx, c.Compute, id, ProbeKey).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("nodes: metadata %s still there after its removal (%v)", ProbeKey, err)
	}
	return nil
}

// ProbePortMAC creates a port with a chosen MAC (random, locally
// administered) on network networkID and deletes it: whether Neutron's
// policy (create_port:mac_address) lets this user choose MACs there.
func (c *Cloud) ProbePortMAC(ctx context.Context, networkID string) error {
	if err := c.needNetwork("create a probe port"); err != nil {
		return err
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	mac := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4])
	p, err := ports.Create(ctx, c.Network, ports.CreateOpts{NetworkID: networkID, Name: ProbeKey, MACAddress: mac}).Extract()
	if err != nil {
		return probeError("create a port with MAC "+mac, err)
	}
	if err := ports.Delete(ctx, c.Network, p.ID).ExtractErr(); err != nil {
		return probeError("delete probe port "+p.ID, err)
	}
	if !strings.EqualFold(p.MACAddress, mac) {
		return fmt.Errorf("nodes: the port was created with MAC %s, not the %s asked for", p.MACAddress, mac)
	}
	return nil
}

// probeError says what the cloud answered, its own message included
// (Neutron's and Nova's policy refusals name the rule).
func probeError(op string, err error) error {
	var resp gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &resp) {
		if msg := bodyMessage(resp.Body); msg != "" {
			return fmt.Errorf("nodes: %s: HTTP %d: %s", op, resp.Actual, msg)
		}
		return fmt.Errorf("nodes: %s: HTTP %d", op, resp.Actual)
	}
	return classify(op, err)
}
