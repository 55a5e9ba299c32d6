package ssh

import (
	"net"
	"time"

	"quintupleo/internal/limit"
	"quintupleo/internal/penalty"
)

// Per-source penalties for failed logins (internal/penalty, after
// OpenSSH's PerSourcePenalties): every connection that tried to
// authenticate and ended without succeeding adds AuthFailPenalty to its
// source address's penalty; a locked-out address's new connections are
// closed at accept until it has run out.

// Defaults of the penalties (OpenSSH's).
const (
	DefaultAuthFailPenalty = penalty.DefaultPer
	DefaultPenaltyMin      = penalty.DefaultMin
	DefaultPenaltyMax      = penalty.DefaultMax
)

// refusePenalised closes c at once if its source address is locked out,
// and says so in the log at most every evictionLogEvery.
func (s *Server) refusePenalised(c net.Conn) bool {
	refused, left := s.penalties.Refused(penalty.Source(c.RemoteAddr()), time.Now())
	if !refused {
		return false
	}
	_ = c.Close()
	s.cfg.Observer.Limited(limit.SSHAuthPenalty, limit.Refused)
	if n, ok := s.refusedLog.Tick(time.Now()); ok {
		s.log.Warn("ssh: connection refused: source address penalised for failed logins",
			"remote", penalty.Source(c.RemoteAddr()), "penalty_left", left.Round(time.Second), "refused", n)
	}
	return true
}
