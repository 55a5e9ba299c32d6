package redfish

import (
	"net/http"
)

// The SessionService (DSP0266 §13.3): POST a user name and password to
// Sessions, get an X-Auth-Token and the session's URI in Location; DELETE
// that URI to log out. sushy logs in this way first and falls back to HTTP
// Basic.

func (s *Server) getSessionService(w http.ResponseWriter, _ *http.Request, _ principal) {
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type":    "#SessionService.v1_1_8.SessionService",
		"@odata.id":      sessionSvc,
		"Id":             "SessionService",
		"Name":           "Session Service",
		"ServiceEnabled": true,
		"SessionTimeout": int(s.sessions.timeout.Seconds()),
		"Sessions":       odataID(sessionsPath),
		"Status":         map[string]any{"State": "Enabled", "Health": "OK"},
	})
}

func (s *Server) getSessions(w http.ResponseWriter, _ *http.Request, _ principal) {
	ids := s.sessions.ids()
	members := make([]any, 0, len(ids))
	for _, id := range ids {
		members = append(members, odataID(sessionsPath+"/"+id))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type": "#SessionCollection.SessionCollection",
		"@odata.id":   sessionsPath, "Name": "Session Collection",
		"Members": members, "Members@odata.count": len(members),
	})
}

func sessionBody(ss session) map[string]any {
	return map[string]any{
		"@odata.type": "#Session.v1_0_0.Session",
		"@odata.id":   sessionsPath + "/" + ss.id,
		"Id":          ss.id,
		"Name":        "User Session",
		"UserName":    ss.user,
	}
}

// postSession logs in: 201 with the token, or 401.
func (s *Server) postSession(w http.ResponseWriter, r *http.Request, _ principal) {
	obj, err := decodeObject(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for k := range obj {
		if k != "UserName" && k != "Password" {
			s.fail(w, r, refuse(http.StatusBadRequest, "PropertyUnknown", "", k))
			return
		}
	}
	user, hasUser, err := stringMember(obj, "UserName")
	if err == nil && !hasUser {
		err = refuse(http.StatusBadRequest, "ActionParameterMissing", "", "Sessions", "UserName")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	password, _, err := stringMember(obj, "Password")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	readOnly, err := s.checkPassword(r, user, password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ss, cerr := s.sessions.create(user, readOnly)
	if cerr != nil {
		s.fail(w, r, fromNodes(cerr))
		return
	}
	s.log.Info("redfish session created", "user", user, "read_only", readOnly, "remote", r.RemoteAddr)
	w.Header().Set("X-Auth-Token", ss.token)
	w.Header().Set("Location", sessionsPath+"/"+ss.id)
	s.writeJSON(w, http.StatusCreated, sessionBody(*ss))
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, _ principal) {
	ss, ok := s.sessions.get(r.PathValue("session"))
	if !ok {
		s.fail(w, r, refuse(http.StatusNotFound, "ResourceNotFound", "", "Session", r.PathValue("session")))
		return
	}
	s.writeJSON(w, http.StatusOK, sessionBody(ss))
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, _ principal) {
	id := r.PathValue("session")
	if !s.sessions.delete(id) {
		s.fail(w, r, refuse(http.StatusNotFound, "ResourceNotFound", "", "Session", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
