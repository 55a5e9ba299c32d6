package cloudsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// step is one asynchronous stage of a Nova task: after delay, apply.
type step struct {
	delay time.Duration
	apply func(v *server)
}

// actionSpec is one row of the server action table: the states Nova's
// check_instance_state allows and what the action does.
type actionSpec struct {
	nova       string   // the name in 409 messages ("start" for os-start)
	minMinor   int      // the microversion the action appeared in (0 = 2.1)
	vmStates   []string // allowed vm_states
	taskStates []string // allowed task_states ("" is None); nil = any
	// parse validates the body before any state check (Nova's schema), and
	// returns the value run receives.
	parse func(s *Sim, body json.RawMessage) (any, *apiError)
	// run starts the task (s.mu held, state already checked) and writes the answer.
	run func(s *Sim, c *call, v *server, arg any) *apiError
}

// checkState is check_instance_state: vm_state first, then task_state.
func checkState(name string, v *server, vmStates, taskStates []string) *apiError {
	if vmStates != nil && !slices.Contains(vmStates, v.VMState) {
		return conflict(name, v.ID, "vm_state", v.VMState)
	}
	if taskStates != nil && !slices.Contains(taskStates, v.TaskState) {
		return conflict(name, v.ID, "task_state", v.TaskState)
	}
	return nil
}

// uuidRE is Nova's 'uuid' format check (immutable).
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// actionTable builds the server action table (samples 10-90 of realnova).
func (s *Sim) actionTable() map[string]actionSpec {
	none := []string{""}
	allowReboot := []string{"", "rebooting", "reboot_pending", "reboot_started", "rebooting_hard",
		"resuming", "unpausing", "pausing", "suspending"}
	noArg := func(*Sim, json.RawMessage) (any, *apiError) { return nil, nil }
	accepted := func(c *call) { writeEmpty(c.w, 202) }
	return map[string]actionSpec{
		"os-start": {nova: "start", vmStates: []string{vmStopped}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				v.TaskState = "powering-on"
				s.startTask(v, "start", []step{{s.opts.TransitionDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning
				}}})
				accepted(c)
				return nil
			}},
		"os-stop": {nova: "stop", vmStates: []string{vmActive, vmError}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				v.TaskState = "powering-off"
				s.startTask(v, "stop", []step{{s.opts.TransitionDelay + s.opts.ShutdownDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmStopped, "", powerShutdown
				}}})
				accepted(c)
				return nil
			}},
		// reboot has no common check: _soft_reboot and _hard_reboot check their own states.
		"reboot": {nova: "reboot",
			parse: func(_ *Sim, body json.RawMessage) (any, *apiError) {
				var b struct {
					Type string `json:"type"`
				}
				if json.Unmarshal(body, &b) != nil || (b.Type != "SOFT" && b.Type != "HARD" && b.Type != "soft" && b.Type != "hard") {
					return nil, novaErr(400, "Invalid input for field/attribute type. Value: %s. '%s' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", b.Type, b.Type)
				}
				return b.Type == "HARD" || b.Type == "hard", nil
			},
			run: func(s *Sim, c *call, v *server, arg any) *apiError {
				d := s.opts.TransitionDelay
				if hard := arg.(bool); !hard {
					if err := checkState("reboot", v, []string{vmActive}, none); err != nil {
						return err
					}
					v.TaskState = "rebooting"
					s.startTask(v, "reboot", []step{{d, func(v *server) { v.TaskState, v.PowerState = "", powerRunning }}})
				} else {
					if err := checkState("reboot", v, []string{vmActive, vmStopped, vmPaused, vmSuspend, vmError}, allowReboot); err != nil {
						return err
					}
					v.TaskState = "rebooting_hard"
					steps := []step{{d, func(v *server) {
						v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning
					}}}
					if v.VMState != vmActive {
						steps = append([]step{{d, func(v *server) { v.TaskState = "reboot_pending_hard" }}}, steps...)
					}
					s.startTask(v, "reboot", steps)
				}
				accepted(c)
				return nil
			}},
		"rescue": {nova: "rescue", vmStates: []string{vmActive, vmStopped, vmError}, taskStates: none,
			parse: func(s *Sim, body json.RawMessage) (any, *apiError) {
				var b struct {
					Ref *string `json:"rescue_image_ref"`
				}
				if string(body) != "null" && json.Unmarshal(body, &b) != nil {
					return nil, malformedNova()
				}
				if b.Ref == nil {
					return "", nil
				}
				if !uuidRE.MatchString(*b.Ref) {
					return nil, novaErr(400, "Invalid input for field/attribute rescue_image_ref. Value: %s. '%s' is not a 'uuid'", *b.Ref, *b.Ref)
				}
				return *b.Ref, nil
			},
			run: func(s *Sim, c *call, v *server, arg any) *apiError {
				if ref := arg.(string); ref != "" && s.st.imageByID(ref) == nil {
					return novaErr(400, "Image %s could not be found.", ref)
				}
				v.TaskState = "rescuing"
				ref := arg.(string)
				s.startTask(v, "rescue", []step{{s.opts.TransitionDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmRescued, "", powerShutdown
					v.RescueImageID = ref
				}}})
				writeJSON(c.w, 200, map[string]any{"adminPass": randAlnum(12)})
				return nil
			}},
		"unrescue": {nova: "unrescue", vmStates: []string{vmRescued}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				v.TaskState = "unrescuing"
				s.startTask(v, "unrescue", []step{{s.opts.TransitionDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning
					v.RescueImageID = ""
				}}})
				accepted(c)
				return nil
			}},
		"rebuild": {nova: "rebuild", vmStates: []string{vmActive, vmStopped, vmError}, taskStates: none,
			parse: func(s *Sim, body json.RawMessage) (any, *apiError) {
				var b rebuildArgs
				if json.Unmarshal(body, &b) != nil {
					return nil, malformedNova()
				}
				if b.ImageRef == "" {
					return nil, novaErr(400, "Invalid input for field/attribute rebuild. Value: %s. 'imageRef' is a required property", body)
				}
				if b.Metadata != nil {
					md, err := validateMetadata(b.Metadata, "metadata")
					if err != nil {
						return nil, err
					}
					b.md = md
				}
				return b, nil
			},
			run: func(s *Sim, c *call, v *server, arg any) *apiError {
				b := arg.(rebuildArgs)
				id := refID(b.ImageRef)
				im := s.st.imageByID(id)
				if im == nil {
					return novaErr(400, "Image %s could not be found.", id)
				}
				v.ImageID = id
				if b.Name != nil {
					v.Name = *b.Name
				}
				if b.md != nil {
					v.Metadata = b.md
				}
				d := s.opts.TransitionDelay
				v.TaskState = "rebuilding"
				if v.VMState == vmStopped {
					s.startTask(v, "rebuild", []step{{d, func(v *server) { v.TaskState, v.PowerState = "", powerShutdown }}})
				} else {
					s.startTask(v, "rebuild", []step{
						{d, func(v *server) { v.TaskState = "rebuild_spawning" }},
						{d, func(v *server) { v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning }},
					})
				}
				view := s.serverView(v, c.root, c.mv, true)
				view["adminPass"] = randAlnum(12)
				if c.mv.ge(57) {
					// The rebuild answer carries user_data under its plain
					// name from 2.57 on, not the extended attribute.
					delete(view, "OS-EXT-SRV-ATTR:user_data")
					view["user_data"] = nil
				}
				writeJSON(c.w, 202, map[string]any{"server": view})
				return nil
			}},
		// pause and unpause (samples of realnova's pause-server and
		// unpause-server): pausing/unpausing, then power_state 3 (PAUSED) or 1.
		"pause": {nova: "pause", vmStates: []string{vmActive}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				v.TaskState = "pausing"
				s.startTask(v, "pause", []step{{s.opts.TransitionDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmPaused, "", powerPaused
				}}})
				accepted(c)
				return nil
			}},
		"unpause": {nova: "unpause", vmStates: []string{vmPaused}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				v.TaskState = "unpausing"
				s.startTask(v, "unpause", []step{{s.opts.TransitionDelay, func(v *server) {
					v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning
				}}})
				accepted(c)
				return nil
			}},
		// trigger_crash_dump (2.17): an NMI to the guest, sent to the
		// compute host asynchronously; Nova changes no state.
		"trigger_crash_dump": {nova: "trigger_crash_dump", minMinor: 17,
			vmStates: []string{vmActive, vmPaused, vmRescued, "resized", vmError}, taskStates: none, parse: noArg,
			run: func(s *Sim, c *call, v *server, _ any) *apiError {
				accepted(c)
				return nil
			}},
	}
}

type rebuildArgs struct {
	ImageRef string          `json:"imageRef"`
	Name     *string         `json:"name"`
	Metadata json.RawMessage `json:"metadata"`
	md       map[string]string
}

// handleAction is POST /servers/{id}/action: one table row per action.
func (s *Sim) handleAction(c *call) *apiError {
	var body map[string]json.RawMessage
	if !readJSON(c, &body) {
		return malformedNova()
	}
	if len(body) != 1 {
		return novaErr(400, "There is no such action: %d keys", len(body))
	}
	var name string
	var arg json.RawMessage
	for k, v := range body {
		name, arg = k, v
	}
	spec, ok := s.actions[name]
	if !ok {
		return novaErr(400, "There is no such action: %s", name)
	}
	if !c.mv.ge(spec.minMinor) {
		// Nova's VersionNotFoundForAPIMethod: a plain 404.
		return novaErr(404, "The resource could not be found.")
	}
	parsed, aerr := spec.parse(s, arg)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only start and stop look the instance up through its cell mapping
	// (ServersController._get_instance), hence their different 404 text;
	// every other action uses common.get_instance.
	v, aerr := s.getServer(c.r.PathValue("id"), name == "os-start" || name == "os-stop")
	if aerr != nil {
		return aerr
	}
	if err := checkState(spec.nova, v, spec.vmStates, spec.taskStates); err != nil {
		return err
	}
	return spec.run(s, c, v, parsed)
}

// startTask records the immediate change already made to v (task_state set)
// and arms the steps; any task in flight is superseded. If v.failNext is set
// (and the task is not a delete), the last step ends in ERROR instead.
// Caller holds s.mu.
func (s *Sim) startTask(v *server, action string, steps []step) {
	now := s.now()
	v.gen++
	s.stopTimer(v)
	v.touch(now)
	s.notify()
	s.changedServer(v)
	s.log.Info("cloudsim task", "server", v.Name, "action", action, "status", v.status(), "task_state", v.TaskState)
	if action != "" && v.failNext != "" {
		msg := v.failNext
		v.failNext = ""
		last := len(steps) - 1
		steps[last] = step{steps[last].delay, func(v *server) {
			v.VMState, v.TaskState = vmError, ""
			v.Fault = &fault{Code: 500, Message: msg, Created: s.now().UTC(),
				Details: fmt.Sprintf("cloudsim: injected failure during '%s'", action)}
		}}
	}
	s.armStep(v, v.gen, steps, 0)
}

func (s *Sim) armStep(v *server, gen int, steps []step, i int) {
	if s.closed || i >= len(steps) {
		return
	}
	st := steps[i]
	s.armTimer(&v.timer, st.delay, func() bool { return v.gen == gen }, func() {
		st.apply(v)
		v.touch(s.now())
		s.notify()
		s.changedServer(v)
		s.log.Info("cloudsim transition", "server", v.Name, "status", v.status(), "vm_state", v.VMState,
			"task_state", v.TaskState, "power_state", v.PowerState)
		s.armStep(v, gen, steps, i+1)
	})
}

// armTimer runs fn after d, with s.mu held, unless the sim closed or live
// says the step was superseded; *slot holds the timer until it fires (for
// stopping it), and Close waits for it. Caller holds s.mu.
func (s *Sim) armTimer(slot **time.Timer, d time.Duration, live func() bool, fn func()) {
	s.wg.Add(1)
	*slot = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || !live() {
			return
		}
		*slot = nil
		fn()
	})
}

// stopTimer disarms v's pending step. Caller holds s.mu.
func (s *Sim) stopTimer(v *server) {
	if v.timer != nil && v.timer.Stop() {
		s.wg.Done()
	}
	v.timer = nil
}

// changedServer reports a state change to Options.OnChange. Caller holds s.mu.
func (s *Sim) changedServer(v *server) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(s.info(v))
	}
}
