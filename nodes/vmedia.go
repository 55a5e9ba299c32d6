package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Virtual media: a CD image by URL, inserted into a node. The cloud holds
// all of it, so every replica (and a restarted one) sees the same media and
// no file is kept: Glance holds the image, imported from the URL with its
// web-download method; server metadata says which image is inserted and
// from which URL; a power-on whose boot device is the CD is a Nova rescue
// with that image, which Nova attaches as a CD-ROM next to the server's own
// disk (stable device rescue: the image's hw_rescue_device=cdrom), so an
// installer on the CD finds the disk where it always is. Nova needs no patch
// and no microversion beyond 2.1 for a server booted from an image.

// The server metadata keys of virtual media. Nova limits a value to 255
// characters, which bounds the URL.
const (
	// MetaMediaImage is the Glance image of the inserted CD; its presence
	// is what "inserted" means.
	MetaMediaImage = "quintupleo:vmedia-cd"
	// MetaMediaURL is the URL the image was imported from.
	MetaMediaURL = "quintupleo:vmedia-cd-url"
	// MetaBootCD ("1") makes the CD the boot device of the next power-ons
	// (or, with MetaBootOnce, of the next one).
	MetaBootCD = "quintupleo:boot-cd"
)

// BootCD is the virtual CD as a boot device: a rescue with the inserted
// image. Only the Executor knows it (strategies keep disk and network).
const BootCD BootDevice = "cdrom"

// MaxMediaURL is the longest URL a CD can be inserted from: Nova's limit
// on a metadata value.
const MaxMediaURL = 255

// The Glance properties of a media image: Nova's stable device rescue
// attaches it as a SATA CD-ROM (SATA exists on both the pc and q35
// machines), and the server it belongs to, so that a leaked image can be
// told.
const (
	propRescueDevice = "hw_rescue_device"
	propRescueBus    = "hw_rescue_bus"
	propMediaServer  = "quintupleo_vmedia_server"
)

// Media is the CD inserted into a node.
type Media struct {
	ImageID, URL string
}

// MediaOf is the CD inserted into n, if any.
func MediaOf(n Node) (Media, bool) {
	img := n.Metadata[MetaMediaImage]
	if img == "" {
		return Media{}, false
	}
	return Media{ImageID: img, URL: n.Metadata[MetaMediaURL]}, true
}

// MetadataWritable reports whether Nova accepts metadata writes on n now
// (its update and delete of metadata take a server ACTIVE, PAUSED,
// SUSPENDED or STOPPED with no task), and if not, why.
func MetadataWritable(n Node) (bool, string) {
	switch n.VMState {
	case "active", "paused", "suspended", "stopped":
	default:
		return false, fmt.Sprintf("Nova refuses to change a server's metadata while it is %s (vm_state %s)", n.Status, n.VMState)
	}
	if n.TaskState != "" {
		return false, fmt.Sprintf("Nova refuses to change a server's metadata while a task runs on it (%s)", n.TaskState)
	}
	return true, ""
}

// InsertMedia inserts the CD at url into node id: a Glance image is
// imported from url (web-download) and the call returns once it is active,
// so that a power-on right after boots it; then server metadata records it.
// A failure on the way removes the image: nothing is left inserted.
func (x *Executor) InsertMedia(ctx context.Context, id, url string) (_ Node, err error) {
	op := "insert media into " + id
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	if m, ok := MediaOf(n); ok {
		return n, &Error{Op: op, Kind: ErrConflict, Reason: "media is already inserted (" + m.URL + "); eject it first"}
	}
	if ok, why := MetadataWritable(n); !ok {
		return n, &Error{Op: op, Kind: ErrConflict, Reason: why}
	}
	done := x.inv.link.obs.ActionStarted(actInsertMedia)
	defer func() { done(err) }()
	ctx, cancel := context.WithTimeout(ctx, x.cfg.ActionTimeout)
	defer cancel()
	imageID, err := x.importMedia(ctx, n, url)
	if err != nil {
		return n, x.timeoutOr(ctx, op, err)
	}
	_, err = servers.UpdateMetadata(ctx, x.inv.cloud().Compute, id, servers.MetadataOpts{
		MetaMediaImage: imageID, MetaMediaURL: url}).Extract()
	if err != nil {
		_ = x.deleteMediaImage(context.WithoutCancel(ctx), imageID) // logged; the insert's error is the one to return
		return n, classify(op, err)
	}
	return x.inv.fetch(ctx, id)
}

// importMedia creates the media image and imports url into it, waiting
// until Glance is done. On failure the image is deleted.
func (x *Executor) importMedia(ctx context.Context, n Node, url string) (string, error) {
	private := images.ImageVisibilityPrivate
	img, err := images.Create(ctx, x.inv.cloud().Image, images.CreateOpts{
		Name: "quintupleo-vmedia-" + n.Name, DiskFormat: "iso", ContainerFormat: "bare", Visibility: &private,
		Properties: map[string]string{propRescueDevice: "cdrom", propRescueBus: "sata", propMediaServer: n.ID},
	}).Extract()
	if err != nil {
		return "", glanceError("create a media image for "+n.ID, err)
	}
	err = imageimport.Create(ctx, x.inv.cloud().Image, img.ID, imageimport.CreateOpts{
		Name: imageimport.WebDownloadMethod, URI: url}).ExtractErr()
	if err == nil {
		err = x.waitImported(ctx, img.ID, url)
	} else {
		err = glanceError("import "+url+" into image "+img.ID, err)
	}
	if err != nil {
		_ = x.deleteMediaImage(context.WithoutCancel(ctx), img.ID) // logged; the import's error is the one to return
		return "", err
	}
	return img.ID, nil
}

// waitImported polls the image until Glance's import task is over (its
// lock, os_glance_import_task, is gone): active, or failed (the image is
// queued again, and os_glance_failed_import names the store).
func (x *Executor) waitImported(ctx context.Context, imageID, url string) error {
	wait := x.cfg.PollInterval
	for {
		img, err := x.inv.cloud().ImageByID(ctx, imageID)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			return err
		}
		if err == nil && img.Status == "active" {
			return nil
		}
		if err == nil && img.Properties["os_glance_import_task"] == "" && img.Status != "importing" {
			reason := fmt.Sprintf("Glance could not import %s (the image is %s again", url, img.Status)
			if failed := img.Properties["os_glance_failed_import"]; failed != "" {
				reason += "; failed stores: " + failed
			}
			return &Error{Op: "import " + url, Kind: ErrFailed, Reason: reason + "); check that the cloud can download it"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, x.cfg.MaxPollInterval)
	}
}

// EjectMedia ejects the CD of node id: the metadata goes (the inserted
// image first, so that a failure half way leaves nothing inserted), and
// with it a CD boot override, which would have nothing to boot; then the
// image. Ejecting nothing is done at once. A node running from its CD (in
// Nova's rescue) must be powered off first: Nova refuses metadata writes
// then.
func (x *Executor) EjectMedia(ctx context.Context, id string) (Node, error) {
	op := "eject media of " + id
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	m, ok := MediaOf(n)
	if !ok {
		return n, nil
	}
	if ok, why := MetadataWritable(n); !ok {
		return n, &Error{Op: op, Kind: ErrConflict, Reason: why}
	}
	for _, key := range []string{MetaMediaImage, MetaMediaURL, MetaBootCD} {
		if n, err = x.DeleteMetadatum(ctx, id, key); err != nil {
			return n, err
		}
	}
	if _, _, once := x.BootOnce(n); !once && n.Metadata[MetaBootOnce] != "" {
		if err := x.clearBootOnce(ctx, id); err != nil {
			return n, err
		}
	}
	done := x.inv.link.obs.ActionStarted(actDeleteMediaImage)
	done(x.deleteMediaImage(ctx, m.ImageID))
	return x.inv.Node(ctx, id)
}

// deleteMediaImage deletes a media image; a failure is logged, and
// returned only for the metrics: the media is already out, and the image
// (named after its server, with quintupleo_vmedia_server) can be found and
// deleted later.
func (x *Executor) deleteMediaImage(ctx context.Context, imageID string) error {
	err := images.Delete(ctx, x.inv.cloud().Image, imageID).ExtractErr()
	if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		x.log.Warn("virtual media image left in Glance", "image", imageID, "err", err)
		return err
	}
	return nil
}

// bootCD powers a stopped node on from its CD: a rescue with the media
// image, once Glance still has it active.
func (x *Executor) bootCD(ctx context.Context, n Node) (Node, error) {
	m, ok := MediaOf(n)
	if !ok {
		return n, &Error{Op: "boot " + n.ID + " from its CD", Kind: ErrConflict, Reason: "no media is inserted"}
	}
	img, err := x.inv.cloud().ImageByID(ctx, m.ImageID)
	if errors.Is(err, ErrNotFound) || (err == nil && img.Status != "active") {
		return n, &Error{Op: "boot " + n.ID + " from its CD", Kind: ErrConflict,
			Reason: fmt.Sprintf("the image of the inserted media (%s, from %s) is gone from Glance or not active; eject and insert it again", m.ImageID, m.URL)}
	}
	if err != nil {
		return n, err
	}
	return x.Rescue(ctx, n.ID, m.ImageID)
}

// cdBoot reports whether n's next power-on boots its CD: the override is
// set, media is in, and it is not a one-time override already spent (a
// node in rescue with a one-time CD mark booted from it: the marks wait
// until Nova accepts metadata writes again, at the power-off).
func cdBoot(n Node) bool {
	if n.Metadata[MetaBootCD] != "1" {
		return false
	}
	if _, ok := MediaOf(n); !ok {
		return false
	}
	return !(n.Metadata[MetaBootOnce] != "" && rescued(n))
}

// cdOnceSpent removes the marks of a one-time CD boot once the node has
// left the rescue that was that boot (a power-off unrescues first).
func (x *Executor) cdOnceSpent(ctx context.Context, id string) error {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return err
	}
	if n.Metadata[MetaBootOnce] == "" || n.Metadata[MetaBootCD] == "" {
		return nil
	}
	if _, err := x.DeleteMetadatum(ctx, id, MetaBootCD); err != nil {
		return fmt.Errorf("nodes: spend the one-time CD boot of %s: %w", id, err)
	}
	return x.clearBootOnce(ctx, id)
}

// glanceError classifies a Glance failure; a 400 is Glance refusing the
// request as such (its import filter refusing the URL, say), with Glance's
// own words.
func glanceError(op string, err error) error {
	if gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		return &Error{Op: op, Kind: ErrUnsupported, Reason: glanceMessage(err), Err: err}
	}
	e := classify(op, err)
	var ne *Error
	if errors.As(e, &ne) && ne.Reason == "" {
		ne.Reason = glanceMessage(err)
	}
	return e
}

// glanceMessage is the explanation of a Glance error body
// ({"message": "...<br /><br />\n\n\n", "code": "400 Bad Request", ...}).
func glanceMessage(err error) string {
	var resp gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &resp) {
		return ""
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(resp.Body, &body) != nil {
		return ""
	}
	msg, _, _ := strings.Cut(body.Message, "<br />")
	return strings.TrimSpace(msg)
}
