package redfish

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/internal/limit"
)

// Accounts are who may log in: user name → bcrypt hash, and whether the
// account may only read. They come from Apache htpasswd files with bcrypt
// entries (htpasswd -B), the format sushy-tools' auth file uses.
type Accounts struct {
	users map[string]account
	// unknown is compared against for a user not listed, so that an unknown
	// user costs what a wrong password does.
	unknown []byte

	// verified spares a correct password the bcrypt comparison (tens of
	// milliseconds at the usual costs) on every HTTP Basic request: per
	// account, the HMAC under macKey of the password that last verified.
	// It only answers yes for exactly that password: a wrong one, or a user
	// not listed, still pays bcrypt, so guessing costs what it did. It is
	// bounded by the accounts (one entry each), and a reload of the files
	// makes new Accounts, so a changed or removed account's entry goes
	// with the old ones. macKey is random per process, so the table is no
	// offline-guessable hash by itself (memory that holds both also holds
	// the passwords of requests in flight and every session token).
	macKey   [32]byte
	mu       sync.Mutex
	verified map[string][sha256.Size]byte
}

type account struct {
	hash     []byte
	readOnly bool
}

// LoadAccounts reads the accounts of the read-write file and, if
// readOnlyFile is not empty, the read-only one. A user in both files is
// read-only: the narrower grant wins, as the TLS listener's read-only DNs do.
// Only bcrypt entries are accepted ($2y$, $2a$, $2b$): htpasswd's other
// schemes (MD5-crypt, SHA-1, crypt, plain) are too weak to offer.
func LoadAccounts(file, readOnlyFile string) (*Accounts, error) {
	a := &Accounts{users: map[string]account{}, verified: map[string][sha256.Size]byte{}}
	if _, err := rand.Read(a.macKey[:]); err != nil {
		return nil, fmt.Errorf("redfish: %w", err)
	}
	err := a.load(file, false)
	if err != nil {
		return nil, err
	}
	if readOnlyFile != "" {
		if err := a.load(readOnlyFile, true); err != nil {
			return nil, err
		}
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("redfish: no account in %s", file)
	}
	if a.unknown, err = bcrypt.GenerateFromPassword([]byte("unknown user"), a.cost()); err != nil {
		return nil, fmt.Errorf("redfish: %w", err)
	}
	return a, nil
}

// cost is the bcrypt cost of the accounts' hashes (the highest), which the
// hash compared for an unknown user gets too.
func (a *Accounts) cost() int {
	c := bcrypt.MinCost
	for _, acc := range a.users {
		if n, err := bcrypt.Cost(acc.hash); err == nil && n > c {
			c = n
		}
	}
	return c
}

func (a *Accounts) load(path string, readOnly bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("redfish: auth file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		if !ok || user == "" {
			return fmt.Errorf("redfish: auth file %s:%d: not user:hash", path, line)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("redfish: auth file %s:%d: user %q: only bcrypt entries are accepted (htpasswd -B): %w", path, line, user, err)
		}
		if _, dup := a.users[user]; dup && !readOnly {
			return fmt.Errorf("redfish: auth file %s:%d: user %q listed twice", path, line, user)
		}
		a.users[user] = account{hash: []byte(hash), readOnly: readOnly || a.users[user].readOnly}
	}
	return sc.Err()
}

// check verifies a user's password; ok is false for an unknown user or a
// wrong password, which look the same to the client.
func (a *Accounts) check(user, password string) (readOnly, ok bool) {
	acc, known := a.users[user]
	hash := acc.hash
	if !known {
		hash = a.unknown
	}
	mac := a.mac(password)
	if known && a.wasVerified(user, mac) {
		return acc.readOnly, true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		return false, false
	}
	a.mu.Lock()
	a.verified[user] = mac
	a.mu.Unlock()
	return acc.readOnly, true
}

func (a *Accounts) mac(password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, a.macKey[:])
	h.Write([]byte(password))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// wasVerified reports whether mac is that of the password that last
// verified for user (compared in constant time).
func (a *Accounts) wasVerified(user string, mac [sha256.Size]byte) bool {
	a.mu.Lock()
	v, ok := a.verified[user]
	a.mu.Unlock()
	return ok && hmac.Equal(v[:], mac[:])
}

// principal is who a request is from.
type principal struct {
	user     string
	readOnly bool
	session  *session // nil for Basic auth
}

// session is one Redfish session: X-Auth-Token → account, until it is
// deleted or idle for longer than the session timeout.
type session struct {
	id, token, user string
	readOnly        bool
	lastUsed        time.Time
}

// sessions are the SessionService's sessions. They live in this process:
// a client that reaches another replica gets 401 and logs in again, which
// sushy does on its own.
type sessions struct {
	timeout time.Duration
	// max and perAccount cap the sessions in all and of one account.
	max, perAccount int
	now             func() time.Time

	mu sync.Mutex
	// mu guards:
	byToken map[string]*session
	byID    map[string]*session
	ofUser  map[string]int // sessions by account
}

func newSessions(timeout time.Duration, max, perAccount int) *sessions {
	return &sessions{timeout: timeout, max: max, perAccount: perAccount, now: time.Now,
		byToken: map[string]*session{}, byID: map[string]*session{}, ofUser: map[string]int{}}
}

// create starts a session for user, unless the account or the service
// holds as many as it may: then the login is refused with the Base
// registry's CreateLimitReachedForResource and 400, as OpenBMC's bmcweb
// answers it. sushy then falls back to HTTP Basic (SessionOrBasicAuth),
// so a client over the cap still works.

func (s *sessions) create(user string, readOnly bool) (*session, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("redfish: session token: %w", err)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("redfish: session id: %w", err)
	}
	ss := &session{id: hex.EncodeToString(id[:]), token: hex.EncodeToString(raw[:]), user: user, readOnly: readOnly, lastUsed: s.now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if n := s.ofUser[user]; n >= s.perAccount {
		return nil, refuse(http.StatusBadRequest, "CreateLimitReachedForResource",
			fmt.Sprintf("The account %s holds %d sessions, the most one account may; delete one (log out) or wait until one is idle for the session timeout.", user, n)).
			by(limit.RedfishSessionsPerAccount)
	}
	if len(s.byID) >= s.max {
		return nil, refuse(http.StatusBadRequest, "CreateLimitReachedForResource",
			fmt.Sprintf("The service holds %d sessions, the most it may; delete one (log out) or wait until one is idle for the session timeout.", len(s.byID))).
			by(limit.RedfishSessions)
	}
	s.byToken[ss.token], s.byID[ss.id] = ss, ss
	s.ofUser[user]++
	return ss, nil
}

// dropLocked forgets ss.
func (s *sessions) dropLocked(ss *session) {
	delete(s.byID, ss.id)
	delete(s.byToken, ss.token)
	if s.ofUser[ss.user]--; s.ofUser[ss.user] <= 0 {
		delete(s.ofUser, ss.user)
	}
}

// lookup finds the session of a token and marks it used.
func (s *sessions) lookup(token string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	ss, ok := s.byToken[token] // 256 random bits: nothing to learn from timing
	if ok {
		ss.lastUsed = s.now()
	}
	return ss, ok
}

func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	ss, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	return *ss, true
}

func (s *sessions) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	out := make([]string, 0, len(s.byID))
	for id := range s.byID {
		out = append(out, id)
	}
	return out
}

func (s *sessions) delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if ok {
		s.dropLocked(ss)
	}
	return ok
}

func (s *sessions) expireLocked() {
	cutoff := s.now().Add(-s.timeout)
	for _, ss := range s.byID {
		if ss.lastUsed.Before(cutoff) {
			s.dropLocked(ss)
		}
	}
}
