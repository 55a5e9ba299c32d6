package storage

import (
	"context"
	"errors"

	"quintupleo/nodes/cinder"
	"quintupleo/virt"
)

// from is the error domain of this driver's errors, libvirt's storage
// driver's.
const from = virt.FromStorage

// fromCinder turns a Cinder failure into the libvirt error a client sees;
// the wording follows driver/domain's for Nova.
func fromCinder(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := virt.As(err); ok {
		return err
	}
	var ce *cinder.Error
	reason := err.Error()
	if errors.As(err, &ce) && ce.Reason != "" {
		reason = ce.Reason
	}
	switch {
	case errors.Is(err, context.Canceled):
		return virt.Internal(from, "the client went away", err)
	case errors.Is(err, cinder.ErrNotFound):
		return virt.NoStorageVol("the volume no longer exists in the cloud")
	case errors.Is(err, cinder.ErrTimeout):
		return virt.OperationTimeout(from, "the cloud did not finish in time", err)
	case errors.Is(err, cinder.ErrRefused), errors.Is(err, cinder.ErrOverQuota):
		return virt.OperationFailed(from, "the cloud refused: "+reason, err)
	case errors.Is(err, cinder.ErrFailed):
		return virt.OperationFailed(from, "the cloud failed the action: "+reason, err)
	case errors.Is(err, cinder.ErrUnavailable):
		return virt.OperationFailed(from, "cloud unavailable: "+reason, err)
	}
	return virt.Unexpected(from, err)
}
