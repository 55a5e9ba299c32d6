package domain

import (
	"context"
	"fmt"
	"strings"

	"quintupleo/driver/domain/domxml"
	"quintupleo/virt"
)

// virDomainGetMetadata and virDomainSetMetadata (virsh desc, virsh
// metadata, libvirt-python's metadata/setMetadata) over the same storage
// define uses for <title>, <description> and <metadata> (keep.go), with
// libvirt 9.0's checks and wording (checked against a real libvirtd).

// metadataTarget checks what both calls check: the flags, the type and its
// URI. A cloud server has one definition, so the live and the persistent
// one are the same; only a live change of a domain that does not run is
// refused, as libvirt refuses it.
func metadataTarget(d Domain, api string, typ int32, uri *string, flags uint32) error {
	if flags&^(virt.AffectLive|virt.AffectConfig) != 0 {
		fn := "qemuDomainGetMetadata"
		if api == "virDomainSetMetadata" {
			fn = "qemuDomainSetMetadata"
		}
		return virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function %s", flags&^(virt.AffectLive|virt.AffectConfig), fn))
	}
	switch typ {
	case virt.MetadataDescription, virt.MetadataTitle:
		if uri != nil {
			return virt.InvalidArgRaw(virt.FromDomain, "uri in "+api+" must be NULL")
		}
	case virt.MetadataElement:
		if uri == nil {
			return virt.InvalidArgRaw(virt.FromDomain, "uri in "+api+" must not be NULL")
		}
	default:
		return virt.InvalidArg(virt.FromDomain, fmt.Sprintf("unknown metadata type '%d'", typ))
	}
	if flags == virt.AffectLive|virt.AffectConfig {
		return virt.InvalidArgRaw(virt.FromDomain, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive")
	}
	if flags&virt.AffectLive != 0 && !d.State.Active() {
		return virt.OperationInvalid(virt.FromDomain, "domain is not running", nil)
	}
	return nil
}

// GetMetadata answers virDomainGetMetadata with what dumpxml shows.
func (h *Driver) GetMetadata(ctx context.Context, u virt.UUID, typ int32, uri *string, flags uint32) (string, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return "", err
	}
	if err := metadataTarget(d, "virDomainGetMetadata", typ, uri, flags); err != nil {
		return "", err
	}
	spec := h.specOf(ctx, n, d)
	v := ""
	switch typ {
	case virt.MetadataTitle:
		v = spec.Title
	case virt.MetadataDescription:
		v = spec.Description
	case virt.MetadataElement:
		v, _ = domxml.MetadataElement(spec.Metadata, *uri)
	}
	if v == "" {
		return "", virt.NoDomainMetadata()
	}
	return v, nil
}

// SetMetadata answers virDomainSetMetadata: the title or description is
// replaced (removed when empty), or the element of namespace uri is
// replaced under prefix key (removed when metadata is nil), in one write
// of the server's metadata.
func (h *Driver) SetMetadata(ctx context.Context, u virt.UUID, typ int32, metadata, key, uri *string, flags uint32) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if err := metadataTarget(d, "virDomainSetMetadata", typ, uri, flags); err != nil {
		return err
	}
	val := ""
	if metadata != nil {
		val = *metadata
	}
	k, _ := keptOf(n.Metadata)
	switch typ {
	case virt.MetadataTitle:
		if key != nil {
			return virt.InvalidArgRaw(virt.FromDomain, "key in virDomainSetMetadata must be NULL")
		}
		if strings.Contains(val, "\n") {
			return virt.InvalidArgRaw(virt.FromDomain, "metadata title can't contain newlines")
		}
		k.Title = val
	case virt.MetadataDescription:
		if key != nil {
			return virt.InvalidArgRaw(virt.FromDomain, "key in virDomainSetMetadata must be NULL")
		}
		k.Description = val
	case virt.MetadataElement:
		elemKey := ""
		if metadata != nil {
			if key == nil {
				return virt.InvalidArgRaw(virt.FromDomain, "key in virDomainSetMetadata must not be NULL")
			}
			elemKey = *key
		}
		if k.Metadata, err = domxml.SetMetadataElement(k.Metadata, val, elemKey, *uri); err != nil {
			return err
		}
	}
	return h.keep(ctx, n, d.Name, k)
}
