// Package limit names the limits quintupleo's front ends enforce and what
// each did when it acted, so that the operator's metrics can say it
// (docs/metrics.md, quintupleo_limit_events_total). It is the one
// vocabulary shared by rpc, ssh, redfish (which report) and
// internal/metrics (which counts): a closed set of names, so the metric's
// label values stay few and none comes from a client (no address, no DN,
// no user name). It imports nothing.
package limit

// Front is the front end a limit guards.
type Front string

// The front ends.
const (
	Libvirt Front = "libvirt"
	SSH     Front = "ssh"
	Redfish Front = "redfish"
)

// Name is one limit.
type Name string

// Outcome is what a limit did to the client when it acted.
type Outcome string

// The outcomes.
const (
	// Refused: a request, a call or a new connection was answered no.
	Refused Outcome = "refused"
	// Evicted: a connection that had not opened (libvirt) or authenticated
	// (SSH) was closed to admit a newer one.
	Evicted Outcome = "evicted"
	// Closed: a connection was closed, for a deadline or a broken rule.
	Closed Outcome = "closed"
	// Waited: the server stopped accepting (or reading from a connection)
	// until a slot freed; nothing was lost.
	Waited Outcome = "waited"
	// Stopped: a running command line was stopped.
	Stopped Outcome = "stopped"
)

// The libvirt front's limits (docs/limits.md, docs/security.md).
const (
	MaxClients          Name = "max_clients"           // --max-clients
	MaxAnonymousClients Name = "max_anonymous_clients" // --max-anonymous-clients
	OpenTimeout         Name = "open_timeout"          // --open-timeout
	OpenFiles           Name = "open_files"            // accept failed with EMFILE/ENFILE
	Keepalive           Name = "keepalive"             // --keepalive-interval, --keepalive-count
	MaxClientRequests   Name = "max_client_requests"   // --max-client-requests
	EventCallbacks      Name = "event_callbacks"       // --max-event-callbacks
	MessageSize         Name = "message_size"          // VIR_NET_MESSAGE_MAX, 32 MiB
	StringSize          Name = "string_size"           // REMOTE_STRING_MAX, 4 MiB
	XMLSize             Name = "xml_size"              // virt.MaxXMLBytes
	XMLDepth            Name = "xml_depth"             // virt.MaxXMLDepth
	XMLEntities         Name = "xml_entities"          // no entity but XML's five
	TLSHandshakeTimeout Name = "tls_handshake_timeout" // rpc.DefaultHandshakeTimeout
	TLSClientCert       Name = "tls_client_cert"       // no certificate, or one that does not verify against --tls-ca
	TLSAllowedDN        Name = "tls_allowed_dn"        // --tls-allowed-dn / --tls-read-only-dn
)

// The SSH front's limits (docs/limits.md, docs/ssh.md).
const (
	SSHMaxConns           Name = "ssh_max_conns"             // --ssh-max-conns
	SSHMaxStartups        Name = "ssh_max_startups"          // --ssh-max-startups
	SSHOpenFiles          Name = "ssh_open_files"            // accept failed with EMFILE/ENFILE
	SSHLoginGrace         Name = "ssh_login_grace"           // --ssh-login-grace-time
	SSHMaxAuthTries       Name = "ssh_max_auth_tries"        // --ssh-max-auth-tries
	SSHAuthPenalty        Name = "ssh_auth_penalty"          // --ssh-auth-fail-penalty
	SSHNoAuthPenalty      Name = "ssh_noauth_penalty"        // --ssh-noauth-penalty
	SSHGracePenalty       Name = "ssh_grace_penalty"         // --ssh-grace-penalty
	SSHMaxSessions        Name = "ssh_max_sessions"          // sessions over all connections
	SSHMaxSessionsPerConn Name = "ssh_max_sessions_per_conn" // sessions on one connection
	SSHCommandSize        Name = "ssh_command_size"          // a command line's length
	SSHOutputSize         Name = "ssh_output_size"           // a command line's output
	SSHCommandTimeout     Name = "ssh_command_timeout"       // a command line's run time
	SSHMemorySession      Name = "ssh_memory_session"        // --ssh-session-memory
	SSHMemoryTotal        Name = "ssh_memory_total"          // --ssh-memory-total
	SSHEnv                Name = "ssh_env"                   // environment variables per session
)

// The Redfish front's limits (docs/redfish.md).
const (
	RedfishAuth               Name = "redfish_auth"                 // wrong password, unknown or expired session token
	RedfishBodySize           Name = "redfish_body_size"            // a request body over 1 MiB
	RedfishMaxConns           Name = "redfish_max_conns"            // --redfish-max-conns
	RedfishOpenFiles          Name = "redfish_open_files"           // accept failed with EMFILE/ENFILE
	RedfishIdleTimeout        Name = "redfish_idle_timeout"         // --redfish-idle-timeout
	RedfishReadTimeout        Name = "redfish_read_timeout"         // --redfish-read-timeout
	RedfishSessions           Name = "redfish_sessions"             // --redfish-max-sessions
	RedfishSessionsPerAccount Name = "redfish_sessions_per_account" // --redfish-max-sessions-per-account
	RedfishAuthPenalty        Name = "redfish_auth_penalty"         // --redfish-auth-fail-penalty
)

// Event is one (limit, outcome) pair a front end reports.
type Event struct {
	Limit   Name
	Outcome Outcome
}

// Events are every pair the front ends report, with the front of each: the
// metrics create each series at 0 from this list, so that a rate or an
// alert over one has a value before the limit first acts.
func Events() map[Event]Front {
	return map[Event]Front{
		{MaxClients, Waited}:           Libvirt,
		{MaxClients, Evicted}:          Libvirt,
		{OpenFiles, Evicted}:           Libvirt,
		{MaxAnonymousClients, Evicted}: Libvirt,
		{OpenTimeout, Closed}:          Libvirt,
		{Keepalive, Closed}:            Libvirt,
		{MaxClientRequests, Waited}:    Libvirt,
		{EventCallbacks, Refused}:      Libvirt,
		{MessageSize, Closed}:          Libvirt,
		{StringSize, Refused}:          Libvirt,
		{XMLSize, Refused}:             Libvirt,
		{XMLDepth, Refused}:            Libvirt,
		{XMLEntities, Refused}:         Libvirt,
		{TLSHandshakeTimeout, Closed}:  Libvirt,
		{TLSClientCert, Refused}:       Libvirt,
		{TLSAllowedDN, Refused}:        Libvirt,

		{SSHMaxConns, Evicted}:           SSH,
		{SSHMaxConns, Refused}:           SSH,
		{SSHMaxStartups, Evicted}:        SSH,
		{SSHOpenFiles, Evicted}:          SSH,
		{SSHLoginGrace, Closed}:          SSH,
		{SSHMaxAuthTries, Closed}:        SSH,
		{SSHAuthPenalty, Refused}:        SSH,
		{SSHNoAuthPenalty, Refused}:      SSH,
		{SSHGracePenalty, Refused}:       SSH,
		{SSHMaxSessions, Refused}:        SSH,
		{SSHMaxSessionsPerConn, Refused}: SSH,
		{SSHCommandSize, Refused}:        SSH,
		{SSHOutputSize, Stopped}:         SSH,
		{SSHCommandTimeout, Stopped}:     SSH,
		{SSHMemorySession, Refused}:      SSH,
		{SSHMemoryTotal, Refused}:        SSH,
		{SSHEnv, Refused}:                SSH,

		{RedfishAuth, Refused}:               Redfish,
		{RedfishBodySize, Refused}:           Redfish,
		{RedfishMaxConns, Evicted}:           Redfish,
		{RedfishMaxConns, Refused}:           Redfish,
		{RedfishOpenFiles, Evicted}:          Redfish,
		{RedfishIdleTimeout, Closed}:         Redfish,
		{RedfishReadTimeout, Closed}:         Redfish,
		{RedfishReadTimeout, Refused}:        Redfish,
		{RedfishSessions, Refused}:           Redfish,
		{RedfishSessionsPerAccount, Refused}: Redfish,
		{RedfishAuthPenalty, Refused}:        Redfish,
	}
}
