package nodes

import "context"

// The image lookups a boot strategy needs (Actor), on the executor's cloud.
// They are Glance's (capability.go), to move to nodes/glance with the rest of
// its calls (doc.go).

// ImageByID reads the image with this ID; a missing one is ErrNotFound.
func (x *Executor) ImageByID(ctx context.Context, id string) (Image, error) {
	cloud, err := x.inv.connected()
	if err != nil {
		return Image{}, err
	}
	return cloud.ImageByID(ctx, id)
}

// FindImage finds an image by ID, else by its unique name.
func (x *Executor) FindImage(ctx context.Context, nameOrID string) (Image, error) {
	cloud, err := x.inv.connected()
	if err != nil {
		return Image{}, err
	}
	return cloud.FindImage(ctx, nameOrID)
}
