package cloudcall

// Observer is told of each change a service package makes to the cloud,
// for the operator's metrics of what is under way (nodes passes its own
// nodes.Observer, which cmd wires to Prometheus; these packages import no
// metrics library). It must be quick and safe for concurrent use.
type Observer interface {
	// ActionStarted is a change that begins; done is called once, when it
	// has ended (its waits included), with its error.
	ActionStarted(action string) (done func(err error))
}

// Started tells obs that action begins and returns its done; a nil obs
// (a client built without one) observes nothing.
func Started(obs Observer, action string) (done func(err error)) {
	if obs == nil {
		return func(error) {}
	}
	return obs.ActionStarted(action)
}
