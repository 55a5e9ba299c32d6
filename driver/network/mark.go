package network

// Networks quintupleo creates carry a mark in their Neutron description, so
// that every replica knows them as its own (net-undefine deletes only
// those unless told otherwise) and knows which are transient. A description
// is used rather than a tag: every Neutron has standard-attr-description
// and sets it in the create call itself, so a network is never seen
// unmarked; tags need a second call after the create.
const (
	descDefined   = "quintupleo: libvirt network (virsh net-define)"
	descTransient = "quintupleo: transient libvirt network (virsh net-create); net-destroy deletes it"
)

type mark int

const (
	markNone mark = iota
	markDefined
	markTransient
)

func markOf(description string) mark {
	switch description {
	case descDefined:
		return markDefined
	case descTransient:
		return markTransient
	}
	return markNone
}
