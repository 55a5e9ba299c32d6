package nodes

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// The rescue strategy's pending boot device. Nova refuses metadata and tag
// writes while a server is rescued, but takes a new description (PUT
// /servers/{id}, recorded in conformance/testdata/realcloud/
// TestRescuedServerWrites.json), and every listing carries it
// (servers/detail at microversion 2.19+). So a boot device chosen while a
// node is rescued goes to the end of the server's description, after the
// operator's own text, and every replica reads it in its next listing at no
// extra cost. Once Nova takes metadata writes again (the next power-off),
// the device moves to libvirt:pxe-first and the description is given back
// as the operator left it.

// maxDescription is Nova's limit on a server description, in characters.
const maxDescription = 255

// bootMark is the mark for dev. It is the description's last word, after a
// space when the operator's text is not null (an empty text included), so
// that removing it restores exactly what was there.
func bootMark(dev BootDevice) string { return "[quintupleo:boot=" + string(dev) + "]" }

// pendingBoot reads the mark off a description: the device it names and the
// operator's text under it (nil when there was none).
func pendingBoot(desc *string) (dev BootDevice, operator *string, ok bool) {
	if desc == nil {
		return "", nil, false
	}
	for _, dev := range []BootDevice{BootDisk, BootNetwork} {
		mark := bootMark(dev)
		if *desc == mark {
			return dev, nil, true
		}
		if rest, found := strings.CutSuffix(*desc, " "+mark); found {
			return dev, &rest, true
		}
	}
	return "", desc, false
}

// withPendingBoot is the operator's text with the mark for dev at its end.
func withPendingBoot(operator *string, dev BootDevice) *string {
	d := bootMark(dev)
	if operator != nil {
		d = *operator + " " + d
	}
	return &d
}

// markBootPending records dev as n's pending boot device in its description,
// or removes the mark when dev is what the metadata says already. n is
// rescued, so nothing else of the server can be written.
func markBootPending(ctx context.Context, a Actor, n Node, dev BootDevice) error {
	_, operator, _ := pendingBoot(n.Description)
	next := operator
	if dev != metadataBootDevice(n) {
		next = withPendingBoot(operator, dev)
	}
	if equalDescription(next, n.Description) {
		return nil
	}
	if next != nil && utf8.RuneCountInString(*next) > maxDescription {
		return &Error{Op: "set the boot device of rescued server " + n.ID, Kind: ErrConflict,
			Reason: fmt.Sprintf("the cloud refuses metadata writes while a server is rescued, and the server's description (%d characters) leaves no room for the %d of the boot-device mark within Nova's %d; shorten the description, or power the node off first",
				utf8.RuneCountInString(*operator), len(bootMark(dev))+1, maxDescription)}
	}
	_, err := a.SetDescription(ctx, n.ID, next)
	return err
}

// clearBootPending gives the description back without the mark, when it
// has one.
func clearBootPending(ctx context.Context, a Actor, n Node) error {
	if _, operator, ok := pendingBoot(n.Description); ok {
		_, err := a.SetDescription(ctx, n.ID, operator)
		return err
	}
	return nil
}

// describeOpts is PUT /servers/{id} with a description (nil: null), which
// gophercloud's UpdateOpts does not carry.
type describeOpts struct{ description *string }

func (o describeOpts) ToServerUpdateMap() (map[string]any, error) {
	return map[string]any{"server": map[string]any{"description": o.description}}, nil
}

// SetDescription replaces the server's description (nil: none) and reads
// the server back. Nova takes it in any state, rescued included.
func (x *Executor) SetDescription(ctx context.Context, id string, desc *string) (_ Node, err error) {
	cloud, err := x.inv.connected()
	if err != nil {
		return Node{}, err
	}
	done := x.inv.link.obs.ActionStarted(actSetDescription)
	defer func() { done(err) }()
	if err := servers.Update(ctx, cloud.Compute, id, describeOpts{desc}).Err; err != nil {
		return Node{}, classify("set the description of "+id, err)
	}
	return x.inv.fetch(ctx, id)
}
