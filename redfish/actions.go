package redfish

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"quintupleo/nodes"
)

// unknownAction answers a POST to an action the system does not have.
func (s *Server) unknownAction(w http.ResponseWriter, r *http.Request, _ principal, _ nodes.Node) {
	s.fail(w, r, refuse(http.StatusBadRequest, "ActionNotSupported", "", r.PathValue("action")))
}

// op is the executor operation a reset type comes to for a node; nil means
// the node is already where the reset would take it (success, no action:
// real BMCs and Ironic treat it so).
type op func(ctx context.Context) (nodes.Node, error)

// resetOp maps a ResetType onto the Executor. Nova has no hard power cut:
// ForceOff is os-stop, which shuts down gracefully within Nova's shutdown
// timeout (docs/redfish.md). A restart of a node that is off powers it on,
// as the reset leaves a machine running. PushPowerButton toggles.
func (s *Server) resetOp(n nodes.Node, resetType string) (op, *Error) {
	power := nodes.PowerStateOf(n)
	if power == nodes.PowerUnknown {
		return nil, refuse(http.StatusConflict, "ResourceInUse",
			"The cloud reports no power state for "+n.Name+" (status "+n.Status+"); try again once it does.")
	}
	on := power == nodes.PowerOn || power == nodes.PoweringOn
	powerOn := func(ctx context.Context) (nodes.Node, error) { return s.act.PowerOn(ctx, n.ID) }
	powerOff := func(ctx context.Context) (nodes.Node, error) { return s.act.PowerOff(ctx, n.ID) }
	reboot := func(hard bool) op {
		return func(ctx context.Context) (nodes.Node, error) { return s.act.Reboot(ctx, n.ID, hard) }
	}
	switch resetType {
	case "On", "ForceOn":
		if on {
			return nil, nil
		}
		return powerOn, nil
	case "ForceOff", "GracefulShutdown":
		if !on {
			return nil, nil
		}
		return powerOff, nil
	case "GracefulRestart", "ForceRestart":
		if !on {
			return powerOn, nil
		}
		return reboot(resetType == "ForceRestart"), nil
	case "PushPowerButton":
		if on {
			return powerOff, nil
		}
		return powerOn, nil
	}
	return nil, refuse(http.StatusBadRequest, "PropertyValueNotInList",
		"This service offers "+strings.Join(resetTypes, ", ")+".", resetType, "ResetType")
}

// nmi is ResetType Nmi: Nova's trigger_crash_dump, which Nova accepts only
// for a running server and answers 202 without any state to wait for, so
// it is sent within the request. A system that is not On is refused here,
// without asking the cloud (a machine that is off has no NMI to take).
func (s *Server) nmi(w http.ResponseWriter, r *http.Request, n nodes.Node) {
	if power := nodes.PowerStateOf(n); power != nodes.PowerOn {
		s.fail(w, r, refuse(http.StatusConflict, "ResourceInUse",
			"An NMI reaches a running system only; "+n.Name+" is "+fmt.Sprint(powerState(n))+" (Nova status "+n.Status+")."))
		return
	}
	if err := s.act.TriggerCrashDump(r.Context(), n.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reset is ComputerSystem.Reset. It answers 204 once the cloud has accepted
// the (first) action — Redfish clients then poll PowerState, as sushy and
// Ironic do — or with the error that kept the cloud from accepting it. The
// operation goes on to its target state in the background (the Executor's
// waits, which also keep the inventory current), one operation per
// request.
func (s *Server) reset(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	obj, rerr := decodeObject(r)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	for k := range obj {
		if k != "ResetType" {
			s.fail(w, r, refuse(http.StatusBadRequest, "ActionParameterUnknown", "", "ComputerSystem.Reset", k))
			return
		}
	}
	resetType, present, rerr := stringMember(obj, "ResetType")
	if rerr == nil && !present {
		rerr = refuse(http.StatusBadRequest, "ActionParameterMissing", "", "ComputerSystem.Reset", "ResetType")
	}
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	if resetType == "Nmi" {
		s.nmi(w, r, n)
		return
	}
	do, rerr := s.resetOp(n, resetType)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	if do == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.start(r.Context(), n, resetType, do); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// start runs do in the background and returns once the cloud accepted its
// first action, or with do's error if it failed before that. A client that
// goes away does not stop the operation; a failure after the answer is
// logged.
func (s *Server) start(ctx context.Context, n nodes.Node, what string, do op) error {
	return nodes.UntilAccepted(ctx, s.ctx, &s.actions, func(ctx context.Context) error {
		_, err := do(ctx)
		return err
	}, func(err error) {
		s.log.Warn("redfish reset failed", "node", n.Name, "reset", what, "err", err)
	})
}

// systemProps are the ComputerSystem properties this service shows; of them
// only Boot may be written.
var systemProps = []string{"@odata.type", "@odata.id", "Id", "Name", "UUID", "SystemType", "Model", "Status",
	"PowerState", "ProcessorSummary", "MemorySummary", "Processors", "EthernetInterfaces", "Links", "Actions"}

// bootProps are the Boot properties that may be written.
var bootProps = []string{"BootSourceOverrideTarget", "BootSourceOverrideEnabled", "BootSourceOverrideMode"}

// bootChange is a validated PATCH of Boot.
type bootChange struct {
	target, enabled string // "" = not given
	mode            string
}

// patchSystem changes the boot override. Everything is checked before the
// cloud is touched: a refused PATCH changes nothing. If-Match, when given,
// must carry the system's current ETag (412 otherwise).
func (s *Server) patchSystem(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, s.currentETag(r.Context(), n)) {
		s.fail(w, r, refuse(http.StatusPreconditionFailed, "PreconditionFailed",
			"The system changed since it was read (its ETag is now "+s.currentETag(r.Context(), n)+"); read it again."))
		return
	}
	obj, rerr := decodeObject(r)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	change, rerr := s.parseBoot(r.Context(), obj, n)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	if err := s.applyBoot(r.Context(), n, change); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// currentETag is the ETag a GET of the system would give now.
func (s *Server) currentETag(ctx context.Context, n nodes.Node) string {
	body, _ := json.Marshal(s.system(ctx, n))
	return etagOf(body)
}

// etagMatches applies If-Match: a list of ETags, or *. A weak ETag is
// compared by its value, as sushy retries a weak one as strong.
func etagMatches(header, current string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == current {
			return true
		}
	}
	return false
}

// parseBoot validates a PATCH body: only Boot, only its writable members,
// only values the cloud can honour.
func (s *Server) parseBoot(ctx context.Context, obj map[string]json.RawMessage, n nodes.Node) (bootChange, *Error) {
	var c bootChange
	for k := range obj {
		switch {
		case k == "Boot":
		case k == "@odata.etag":
		case slices.Contains(systemProps, k):
			return c, refuse(http.StatusBadRequest, "PropertyNotWritable", "", k)
		default:
			return c, refuse(http.StatusBadRequest, "PropertyUnknown", "", k)
		}
	}
	raw, ok := obj["Boot"]
	if !ok {
		return c, refuse(http.StatusBadRequest, "PropertyMissing", "Only Boot can be changed.", "Boot")
	}
	var boot map[string]json.RawMessage
	if json.Unmarshal(raw, &boot) != nil || boot == nil {
		return c, refuse(http.StatusBadRequest, "PropertyValueTypeError", "", string(raw), "Boot")
	}
	for k := range boot {
		if !slices.Contains(bootProps, k) {
			if strings.HasPrefix(k, "BootSourceOverride") {
				return c, refuse(http.StatusBadRequest, "PropertyNotWritable", "", "Boot/"+k)
			}
			return c, refuse(http.StatusBadRequest, "PropertyUnknown", "", "Boot/"+k)
		}
	}
	var err *Error
	if c.target, _, err = stringMember(boot, "BootSourceOverrideTarget"); err != nil {
		return c, err
	}
	if c.enabled, _, err = stringMember(boot, "BootSourceOverrideEnabled"); err != nil {
		return c, err
	}
	if c.mode, _, err = stringMember(boot, "BootSourceOverrideMode"); err != nil {
		return c, err
	}
	switch c.target {
	case "", "None", "Pxe", "Hdd":
	case "Cd":
		if _, ok := nodes.MediaOf(n); !ok {
			return c, refuse(http.StatusBadRequest, "PropertyValueConflict",
				"The virtual CD is empty: insert media (Managers/"+n.UUID()+"/VirtualMedia/Cd) before booting from it.",
				"BootSourceOverrideTarget", "VirtualMedia/Cd/Inserted")
		}
	default:
		return c, refuse(http.StatusBadRequest, "PropertyValueNotInList",
			"Nova boots a server from its disk, (through the boot strategy) the network, or (through a rescue) its virtual CD; offered: "+strings.Join(bootTargets, ", ")+".",
			c.target, "BootSourceOverrideTarget")
	}
	switch c.enabled {
	case "", "Once", "Continuous", "Disabled":
	default:
		return c, refuse(http.StatusBadRequest, "PropertyValueNotInList", "", c.enabled, "BootSourceOverrideEnabled")
	}
	if curTarget, curEnabled := s.bootOverride(n); curTarget == "Cd" && curEnabled == "Continuous" &&
		cmp.Or(c.enabled, curEnabled) == "Once" && cmp.Or(c.target, curTarget) != "Cd" {
		return c, refuse(http.StatusBadRequest, "PropertyValueConflict",
			"The boot target is the CD (Continuous), which a one-time override could not return to: set the other target Continuous, or eject the CD, first.",
			"BootSourceOverrideEnabled", "BootSourceOverrideTarget")
	}
	if c.mode != "" {
		if cur := s.images.of(ctx, n.ImageID).mode; c.mode != cur {
			reason := "The boot mode of a server is its image's hw_firmware_type, which the cloud cannot change on a server"
			if cur == "" {
				reason += "; this server's is not known"
			} else {
				reason += "; this server's is " + cur
			}
			return c, refuse(http.StatusBadRequest, "PropertyValueNotInList", reason+".", c.mode, "BootSourceOverrideMode")
		}
	}
	return c, nil
}

// applyBoot makes the change in the cloud: Continuous (and a target of
// None, or Disabled: the normal boot order, the disk) is the boot device of
// every power-on; Once is a one-time device the next power-on spends
// (nodes.Executor.SetBootDeviceOnce). A missing Target keeps the current
// one; a missing Enabled keeps the current mode.
func (s *Server) applyBoot(ctx context.Context, n nodes.Node, c bootChange) error {
	curTarget, curEnabled := s.bootOverride(n)
	target, enabled := c.target, c.enabled
	if target == "" {
		target = curTarget
	}
	if enabled == "" {
		enabled = curEnabled
	}
	if c.target == "" && c.enabled == "" {
		return nil // only the (unchanged) mode
	}
	dev := nodes.BootDisk
	switch target {
	case "Pxe":
		dev = nodes.BootNetwork
	case "Cd":
		dev = nodes.BootCD
	}
	if target == "None" || enabled == "Disabled" {
		return s.act.SetBootDevice(ctx, n.ID, nodes.BootDisk)
	}
	if enabled == "Once" {
		return s.act.SetBootDeviceOnce(ctx, n.ID, dev)
	}
	return s.act.SetBootDevice(ctx, n.ID, dev)
}
