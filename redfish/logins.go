package redfish

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"quintupleo/internal/limit"
	"quintupleo/internal/penalty"
)

// penaltyLogEvery spaces the warnings about penalised addresses: a client
// ignoring the refusal sends one request after another.
const penaltyLogEvery = 10 * time.Second

// checkPassword verifies a password (HTTP Basic or a SessionService login)
// under the per-source penalty for failed logins, as the SSH front does
// (internal/penalty): an address locked out is refused before the bcrypt
// comparison, so that guessing costs the server nothing, and every wrong
// password adds to its penalty. The refusal is 503 with Retry-After and
// ServiceTemporarilyUnavailable, not 401 or 429: 401 would tell a client
// with the right password that it is wrong (Ironic then fails the node's
// credentials), sushy turns 429 into an error at once, and it retries a GET
// answered 5xx ten times three seconds apart (connector._op), which rides
// out the lock-out the default penalties give.
func (s *Server) checkPassword(r *http.Request, user, password string) (readOnly bool, err *Error) {
	src := penalty.SourceOf(r.RemoteAddr)
	now := time.Now()
	if locked, left, _ := s.penalties.Refused(src, now); locked {
		secs := strconv.Itoa(int(math.Ceil(left.Seconds())))
		if n, ok := s.penaltyLog.Tick(now); ok {
			s.log.Warn("redfish: login refused: source address penalised for failed logins",
				"remote", src, "penalty_left", left.Round(time.Second), "refused", n)
		}
		e := refuse(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable",
			"Too many failed logins from this address; retry in "+secs+" seconds.", secs).by(limit.RedfishAuthPenalty)
		e.retryAfter = secs
		return false, e
	}
	readOnly, ok := s.accounts.check(user, password)
	if !ok {
		s.penalties.Add(src, s.authFailPenalty, limit.RedfishAuthPenalty, now)
		return false, refuse(http.StatusUnauthorized, "NoValidSession", "Wrong user name or password.").by(limit.RedfishAuth)
	}
	return readOnly, nil
}
