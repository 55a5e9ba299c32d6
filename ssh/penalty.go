package ssh

import (
	"net"
	"time"

	"quintupleo/internal/limit"
	"quintupleo/internal/penalty"
)

// Per-source penalties (internal/penalty), as OpenSSH's PerSourcePenalties
// (sshd 9.8): a connection that ends before it has authenticated adds to
// its source address's penalty — AuthFailPenalty if it tried to
// authenticate and failed (authfail), GracePenalty if its login deadline
// passed (grace-exceeded), NoAuthPenalty otherwise (noauth: it closed, or
// was evicted for a newer one, without trying: a banner probe such as
// ssh-keyscan or a TCP check, a slowloris). A connection that
// authenticated is never penalised, however it ends: sshd stops tracking
// its child at "auth done". A locked-out address's new connections are
// closed at accept until its penalty has run out.

// Defaults of the penalties (OpenSSH's).
const (
	DefaultAuthFailPenalty = penalty.DefaultAuthFail
	DefaultNoAuthPenalty   = penalty.DefaultNoAuth
	DefaultGracePenalty    = penalty.DefaultGrace
	DefaultPenaltyMin      = penalty.DefaultMin
	DefaultPenaltyMax      = penalty.DefaultMax
)

// penaltyFor is what a connection that ended before authenticating, with
// err from the handshake, adds to its address's penalty, and under which
// limit: the login deadline first (sshd's grace alarm exits with
// EXIT_LOGIN_GRACE whatever was tried), then a failed attempt, then none.
func (s *Server) penaltyFor(err error, failed bool) (time.Duration, limit.Name) {
	switch l, _ := handshakeLimit(err); {
	case l == limit.SSHLoginGrace:
		return s.cfg.GracePenalty, limit.SSHGracePenalty
	case failed:
		return s.cfg.AuthFailPenalty, limit.SSHAuthPenalty
	default:
		return s.cfg.NoAuthPenalty, limit.SSHNoAuthPenalty
	}
}

// penalise adds the penalty for a connection from c that ended before
// authenticating with err (nothing while the server is stopping: it
// closed the connection, not the client).
func (s *Server) penalise(c net.Conn, err error, failed bool) {
	if s.isShutdown() {
		return
	}
	d, why := s.penaltyFor(err, failed)
	s.penalties.Add(penalty.Source(c.RemoteAddr()), d, why, time.Now())
}

// penaltyReason says in the log what the penalty in force was last added
// for (sshd's "penalty: ..." reasons).
func penaltyReason(why limit.Name) string {
	switch why {
	case limit.SSHNoAuthPenalty:
		return "connections that did not log in"
	case limit.SSHGracePenalty:
		return "connections that exceeded the login grace time"
	default:
		return "failed logins"
	}
}

// refusePenalised closes c at once if its source address is locked out,
// and says so in the log at most every evictionLogEvery.
func (s *Server) refusePenalised(c net.Conn) bool {
	src := penalty.Source(c.RemoteAddr())
	refused, left, why := s.penalties.Refused(src, time.Now())
	if !refused {
		return false
	}
	_ = c.Close()
	s.cfg.Observer.Limited(why, limit.Refused)
	if n, ok := s.refusedLog.Tick(time.Now()); ok {
		s.log.Warn("ssh: connection refused: source address penalised for "+penaltyReason(why),
			"remote", src, "penalty_left", left.Round(time.Second), "refused", n)
	}
	return true
}
