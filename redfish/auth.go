package redfish

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Accounts are who may log in: user name → bcrypt hash, and whether the
// account may only read. They come from Apache htpasswd files with bcrypt
// entries (htpasswd -B), the format sushy-tools' auth file uses.
type Accounts struct {
	users map[string]account
	// unknown is compared against for a user not listed, so that an unknown
	// user costs what a wrong password does.
	unknown []byte
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
	a := &Accounts{users: map[string]account{}}
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
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		return false, false
	}
	return acc.readOnly, true
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
	now     func() time.Time

	mu sync.Mutex
	// mu guards:
	byToken map[string]*session
	byID    map[string]*session
}

func newSessions(timeout time.Duration) *sessions {
	return &sessions{timeout: timeout, now: time.Now, byToken: map[string]*session{}, byID: map[string]*session{}}
}

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
	s.byToken[ss.token], s.byID[ss.id] = ss, ss
	return ss, nil
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
		delete(s.byID, id)
		delete(s.byToken, ss.token)
	}
	return ok
}

func (s *sessions) expireLocked() {
	cutoff := s.now().Add(-s.timeout)
	for id, ss := range s.byID {
		if ss.lastUsed.Before(cutoff) {
			delete(s.byID, id)
			delete(s.byToken, ss.token)
		}
	}
}
