package network

import (
	"context"
	"errors"

	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// fromCloud maps a Neutron failure onto the libvirt error a client sees.
func fromCloud(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := virt.As(err); ok {
		return err
	}
	var ne *neutron.Error
	switch {
	case errors.As(err, &ne) && ne.Kind == neutron.Unavailable:
		return virt.OperationFailed(virt.FromNetwork, "cloud unavailable: "+ne.Error(), err)
	case errors.As(err, &ne):
		return virt.OperationFailed(virt.FromNetwork, "the cloud refused: "+cloudMessage(ne), err)
	case errors.Is(err, context.DeadlineExceeded):
		return virt.OperationTimeout(virt.FromNetwork, "the cloud did not answer in time", err)
	case errors.Is(err, context.Canceled):
		return virt.OperationFailed(virt.FromNetwork, "the call was cancelled", err)
	}
	return virt.Unexpected(virt.FromNetwork, err)
}

func cloudMessage(ne *neutron.Error) string {
	if ne.Message != "" {
		return ne.Message
	}
	return ne.Error()
}
