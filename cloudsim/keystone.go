package cloudsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// keystone time format: "2026-11-25T13:24:35.000000Z".
const keystoneTime = "2006-01-02T15:04:05.000000Z"

// call is one request as the service handlers see it.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	root string // "http://HOST"
	mv   microversion
}

type handlerFunc func(c *call) *apiError

// rootURL is the scheme and host the client used.
func rootURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string     `json:"id"`
					Name     string     `json:"name"`
					Password string     `json:"password"`
					Domain   *domainRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
			AppCredential *appCredentialAuth `json:"application_credential"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

// appCredentialAuth is the application_credential method of an auth
// request: the credential's ID, or its name and user, and its secret.
type appCredentialAuth struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Secret string `json:"secret"`
	User   *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainRef `json:"domain"`
	} `json:"user"`
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (d *domainRef) isDefault() bool {
	return d != nil && (d.ID == "default" || (d.ID == "" && d.Name == UserDomainName))
}

type scopeRequest struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainRef `json:"domain"`
	} `json:"project"`
}

func (s *Sim) keystoneVersion(root string) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": root + IdentityPath + "/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (s *Sim) handleIdentityVersion(c *call) *apiError {
	writeJSON(c.w, 200, map[string]any{"version": s.keystoneVersion(c.root)})
	return nil
}

// handleRootVersions is Keystone's unversioned root: 300 with the one
// version, and (as Keystone does) a Location naming it.
func (s *Sim) handleRootVersions(c *call) *apiError {
	c.w.Header().Set("Location", c.root+IdentityPath+"/")
	writeJSON(c.w, 300, map[string]any{"versions": map[string]any{"values": []any{s.keystoneVersion(c.root)}}})
	return nil
}

// handleAuthTokens is POST /v3/auth/tokens: password or token auth, project
// scope or unscoped.
func (s *Sim) handleAuthTokens(c *call) *apiError {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody))
	if err != nil {
		return keystoneErr(400, "Bad Request", "Malformed request body")
	}
	var req authRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return keystoneErr(400, "Bad Request", "Invalid input for field 'auth': malformed JSON")
	}
	id := req.Auth.Identity
	if len(id.Methods) == 0 {
		return keystoneErr(400, "Bad Request", "Invalid input for field 'identity': 'methods' is a required property")
	}
	bad := keystoneErr(401, "Unauthorized", "The request you have made requires authentication.")
	ok, appCred := false, false
	for _, m := range id.Methods {
		switch m {
		case "password":
			if p := id.Password; p != nil && p.User.Password == s.opts.Password &&
				(p.User.ID == s.st.userID || (p.User.Name == Username && p.User.Domain.isDefault())) {
				ok = true
			}
		case "token":
			if t := id.Token; t != nil && s.tokenValid(t.ID) {
				ok = true
			}
		case "application_credential":
			if s.appCredentialValid(id.AppCredential) {
				ok, appCred = true, true
			}
		}
	}
	if !ok {
		return bad
	}
	// An application credential's token is scoped to its project, and a
	// request must not ask for another scope (Keystone answers 401).
	scoped := appCred
	if appCred && len(req.Auth.Scope) > 0 && string(req.Auth.Scope) != "null" {
		return bad
	}
	if !appCred && len(req.Auth.Scope) > 0 && string(req.Auth.Scope) != "null" && string(req.Auth.Scope) != `"unscoped"` {
		var sc scopeRequest
		if json.Unmarshal(req.Auth.Scope, &sc) != nil || sc.Project == nil {
			return bad
		}
		pr := sc.Project
		if pr.ID != s.st.projectID && !(pr.Name == ProjectName && pr.Domain.isDefault()) {
			return bad
		}
		scoped = true
	}
	now := s.now().UTC()
	tok := "gAAAAAB" + randHex(90)
	s.mu.Lock()
	for t, exp := range s.tokens { // prune so the map stays bounded
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	exp := now.Add(s.opts.TokenTTL)
	s.tokens[tok] = exp
	s.mu.Unlock()
	c.w.Header().Set("X-Subject-Token", tok)
	writeJSON(c.w, 201, s.tokenBody(c.root, id.Methods, now, exp, scoped))
	return nil
}

func (s *Sim) tokenBody(root string, methods []string, issued, exp time.Time, scoped bool) map[string]any {
	dom := map[string]any{"id": "default", "name": UserDomainName}
	tok := map[string]any{
		"methods":    methods,
		"user":       map[string]any{"domain": dom, "id": s.st.userID, "name": Username, "password_expires_at": nil},
		"audit_ids":  []string{randHex(11)},
		"expires_at": exp.Format(keystoneTime),
		"issued_at":  issued.Format(keystoneTime),
	}
	if scoped {
		tok["project"] = map[string]any{"domain": dom, "id": s.st.projectID, "name": ProjectName}
		tok["is_domain"] = false
		// Keystone lists the implied roles too: admin implies member
		// implies reader.
		roles := []any{
			map[string]any{"id": s.st.roleIDs[0], "name": "admin"},
			map[string]any{"id": s.st.roleIDs[1], "name": "member"},
			map[string]any{"id": s.st.roleIDs[2], "name": "reader"},
		}
		if s.opts.Role == RoleMember {
			roles = roles[1:]
		}
		tok["roles"] = roles
		tok["catalog"] = s.catalog(root)
	}
	return map[string]any{"token": tok}
}

// catalog lists every service on this listener, one endpoint per interface.
func (s *Sim) catalog(root string) []any {
	svc := func(typ, name, path string, n int) map[string]any {
		var eps []any
		for i, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{"id": s.st.endpointIDs[n*3+i], "interface": iface,
				"region_id": Region, "region": Region, "url": root + path})
		}
		return map[string]any{"endpoints": eps, "id": s.st.endpointIDs[18+n], "type": typ, "name": name}
	}
	// Cinder is registered twice, as realcloud (and devstack) do: the
	// service-types-authority name and the legacy alias clients still ask for.
	volume := VolumePath + "/v3/" + s.st.projectID
	services := []any{
		svc("identity", "keystone", IdentityPath, 0),
		svc("compute", "nova", ComputePath, 1),
		svc("network", "neutron", NetworkPath, 2),
		svc("image", "glance", ImagePath, 3),
	}
	if s.opts.WithoutCinder {
		return services
	}
	return append(services, svc("block-storage", "cinder", volume, 4), svc("volumev3", "cinderv3", volume, 5))
}

// tokenValid reports whether tok is a live token.
func (s *Sim) tokenValid(tok string) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	return ok && s.now().Before(exp)
}

// authed wraps a service handler with keystonemiddleware's token check.
func (s *Sim) authed(h handlerFunc) handlerFunc {
	return func(c *call) *apiError {
		if !s.tokenValid(c.r.Header.Get("X-Auth-Token")) {
			return unauthorized(c.root + IdentityPath)
		}
		return h(c)
	}
}

// handleTokenGet is GET/HEAD /v3/auth/tokens: validate X-Subject-Token.
func (s *Sim) handleTokenGet(c *call) *apiError {
	sub := c.r.Header.Get("X-Subject-Token")
	s.mu.Lock()
	exp, ok := s.tokens[sub]
	s.mu.Unlock()
	if !ok || !s.now().Before(exp) {
		return keystoneErr(404, "Not Found", "Could not find token: "+sub+".")
	}
	c.w.Header().Set("X-Subject-Token", sub)
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(200)
		return nil
	}
	writeJSON(c.w, 200, s.tokenBody(c.root, []string{"password"}, exp.Add(-s.opts.TokenTTL), exp, true))
	return nil
}

// handleTokenDelete is DELETE /v3/auth/tokens: revoke X-Subject-Token.
func (s *Sim) handleTokenDelete(c *call) *apiError {
	sub := c.r.Header.Get("X-Subject-Token")
	s.mu.Lock()
	_, ok := s.tokens[sub]
	delete(s.tokens, sub)
	s.mu.Unlock()
	if !ok {
		return keystoneErr(404, "Not Found", "Could not find token: "+sub+".")
	}
	c.w.WriteHeader(204)
	return nil
}

// ExpireTokens makes every issued token expire now: the next service call
// gets 401 and a well-behaved client re-authenticates.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// appCredentialValid checks an application_credential identity: the
// credential by ID, or by name with its user (by ID, or by name and
// domain), and the secret.
func (s *Sim) appCredentialValid(ac *appCredentialAuth) bool {
	if ac == nil || ac.Secret != s.opts.AppCredentialSecret {
		return false
	}
	if ac.ID != "" {
		return ac.ID == AppCredentialID
	}
	u := ac.User
	return ac.Name == AppCredentialName && u != nil && (u.ID == s.st.userID || (u.Name == Username && u.Domain.isDefault()))
}
