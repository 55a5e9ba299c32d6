package domain

import (
	"context"
	"errors"
	"fmt"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// from is the error domain of this driver's errors: we present ourselves as
// the qemu driver.
const from = virt.FromQEMU

// NoDomainName is VIR_ERR_NO_DOMAIN for a lookup by name, worded as qemu's driver does.
func NoDomainName(name string) *virt.Error {
	return virt.NoDomain(from, fmt.Sprintf("no domain with matching name '%s'", name), nil)
}

// NoDomainUUID is VIR_ERR_NO_DOMAIN for a lookup by UUID.
func NoDomainUUID(u virt.UUID) *virt.Error {
	return virt.NoDomain(from, fmt.Sprintf("no domain with matching uuid '%s'", u), nil)
}

// NoDomainID is VIR_ERR_NO_DOMAIN for a lookup by id.
func NoDomainID(id int32) *virt.Error {
	return virt.NoDomain(from, fmt.Sprintf("no domain with matching id %d", id), nil)
}

// NotRunning is qemu's refusal of an action that needs a running domain.
func NotRunning() *virt.Error { return virt.OperationInvalid(from, "domain is not running", nil) }

// AlreadyRunning is qemu's refusal to start a running domain.
func AlreadyRunning() *virt.Error {
	return virt.OperationInvalid(from, "domain is already running", nil)
}

// FromNodes turns an error of the nodes layer into the libvirt error a
// client should see.
func FromNodes(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := virt.As(err); ok {
		return err
	}
	var ne *nodes.Error
	reason := ""
	if errors.As(err, &ne) {
		reason = ne.Reason
	}
	switch {
	case errors.Is(err, context.Canceled):
		return virt.Internal(from, "the client went away", err)
	case errors.Is(err, nodes.ErrNotFound):
		return virt.NoDomain(from, "the server no longer exists in the cloud", err)
	case errors.Is(err, nodes.ErrConflict):
		if reason == "" {
			reason = "the cloud refused the action in the server's current state"
		}
		return virt.OperationInvalid(from, reason, err)
	case errors.Is(err, nodes.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		if reason == "" {
			reason = "the cloud did not reach the requested state in time"
		}
		return virt.OperationTimeout(from, reason, err)
	case errors.Is(err, nodes.ErrUnsupported):
		return virt.OperationUnsupported(from, reason, err)
	case errors.Is(err, nodes.ErrFailed):
		return virt.OperationFailed(from, "the cloud failed the action: "+reason, err)
	case errors.Is(err, nodes.ErrUnavailable):
		if reason == "" {
			reason = "no usable answer"
		}
		return virt.OperationFailed(from, "cloud unavailable: "+reason, err)
	}
	return virt.Unexpected(from, err)
}
