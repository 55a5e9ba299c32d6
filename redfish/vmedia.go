package redfish

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"quintupleo/nodes"
)

// Virtual media: each Manager has one VirtualMedia, the CD ("Cd"), as
// Ironic's redfish-virtual-media boot interface looks for it (a member of
// Managers/{id}/VirtualMedia whose MediaTypes has "CD"). Its state is the
// node's (nodes.MediaOf: server metadata), so every replica answers the
// same and a GET costs the cloud nothing. There is no Floppy: Nova's rescue
// boots one image, so a second device could never be seen by the node.

// cdID is the Id of the one VirtualMedia of a Manager.
const cdID = "Cd"

const (
	insertMedia = "VirtualMedia.InsertMedia"
	ejectMedia  = "VirtualMedia.EjectMedia"
)

func (s *Server) vmediaRoutes() {
	base := managersPath + "/{id}/VirtualMedia"
	get := func(h handler) route { return route{methods: map[string]handler{http.MethodGet: h}} }
	post := func(h handler) route { return route{methods: map[string]handler{http.MethodPost: h}} }
	s.handle(base, get(s.withNode(s.getMediaCollection)))
	s.handle(base+"/{media}", get(s.withNode(s.withMedia(s.getMedia))))
	s.handle(base+"/{media}/Actions/"+insertMedia, post(s.withNode(s.withMedia(s.insertMedia))))
	s.handle(base+"/{media}/Actions/"+ejectMedia, post(s.withNode(s.withMedia(s.ejectMedia))))
	s.handle(base+"/{media}/Actions/{action}", post(s.withNode(s.withMedia(s.unknownAction))))
}

// withMedia refuses any VirtualMedia but the CD.
func (s *Server) withMedia(h nodeHandler) nodeHandler {
	return func(w http.ResponseWriter, r *http.Request, p principal, n nodes.Node) {
		if r.PathValue("media") != cdID {
			s.fail(w, r, refuse(http.StatusNotFound, "ResourceNotFound", "This BMC has one virtual medium, the CD (Cd).",
				"VirtualMedia", r.PathValue("media")))
			return
		}
		h(w, r, p, n)
	}
}

func mediaPath(n nodes.Node) string {
	return managersPath + "/" + n.UUID() + "/VirtualMedia"
}

func (s *Server) getMediaCollection(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	self := mediaPath(n)
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.type": "#VirtualMediaCollection.VirtualMediaCollection",
		"@odata.id":   self, "Name": "Virtual Media Services",
		"Members": []any{odataID(self + "/" + cdID)}, "Members@odata.count": 1,
	})
}

// getMedia is the CD: inserted when the node's metadata names an image.
// TransferMethod is Upload: the cloud copies the whole image into Glance
// before the node can boot it (Redfish's Stream would read it on demand).
func (s *Server) getMedia(w http.ResponseWriter, _ *http.Request, _ principal, n nodes.Node) {
	self := mediaPath(n) + "/" + cdID
	media := map[string]any{
		"@odata.type":    "#VirtualMedia.v1_3_0.VirtualMedia",
		"@odata.id":      self,
		"Id":             cdID,
		"Name":           "Virtual CD",
		"MediaTypes":     []string{"CD", "DVD"},
		"Image":          nil,
		"ImageName":      nil,
		"Inserted":       false,
		"WriteProtected": true,
		"ConnectedVia":   "NotConnected",
		"TransferMethod": "Upload",
		"TransferProtocolType@Redfish.AllowableValues": []string{"HTTP", "HTTPS"},
		"TransferMethod@Redfish.AllowableValues":       []string{"Upload"},
		"Actions": map[string]any{
			"#" + insertMedia: map[string]any{"target": self + "/Actions/" + insertMedia},
			"#" + ejectMedia:  map[string]any{"target": self + "/Actions/" + ejectMedia},
		},
	}
	if m, ok := nodes.MediaOf(n); ok {
		media["Image"], media["ImageName"] = m.URL, imageName(m.URL)
		media["Inserted"], media["ConnectedVia"] = true, "URI"
		if u, err := url.Parse(m.URL); err == nil {
			media["TransferProtocolType"] = strings.ToUpper(u.Scheme)
		}
	}
	s.writeJSON(w, http.StatusOK, media)
}

// imageName is the file name of an image URL, as BMCs show ImageName.
func imageName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return path.Base(u.Path)
}

// insertRequest is a validated InsertMedia.
type insertRequest struct {
	image string
}

// insertMedia is VirtualMedia.InsertMedia: the image is imported into the
// cloud (a Glance web-download) and the answer comes once it is usable, so
// that the power-on that follows boots it. Everything the cloud could not
// honour is refused first, without asking it.
func (s *Server) insertMedia(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	obj, rerr := decodeObject(r)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	req, rerr := parseInsert(obj)
	if rerr == nil {
		rerr = mediaChangeable(n, "inserted")
	}
	if rerr == nil {
		if m, ok := nodes.MediaOf(n); ok {
			rerr = refuse(http.StatusConflict, "ResourceInUse", "Media is already inserted ("+m.URL+"); eject it first.")
		}
	}
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	if _, err := s.act.InsertMedia(r.Context(), n.ID, req.image); err != nil {
		s.fail(w, r, mediaError(err, req.image))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mediaChangeable refuses a change of media while Nova refuses metadata
// writes (a node running from its CD is rescued), without asking the cloud.
func mediaChangeable(n nodes.Node, what string) *Error {
	if ok, why := nodes.MetadataWritable(n); !ok {
		return refuse(http.StatusConflict, "ResourceInUse",
			"Media cannot be "+what+" now: "+why+". Power the system off (or wait for its task) first.")
	}
	return nil
}

// mediaError states what the cloud said of an insert: Glance refusing the
// URL (its import filter) is the parameter's fault; a failed download, a
// conflict.
func mediaError(err error, image string) error {
	var ne *nodes.Error
	if errors.As(err, &ne) && ne.Kind == nodes.ErrUnsupported {
		return refuse(http.StatusBadRequest, "ActionParameterValueFormatError",
			"The cloud's image service refused to import from this URL: "+ne.Reason, image, "Image", insertMedia)
	}
	return err
}

// parseInsert checks an InsertMedia body: an http(s) Image; Inserted and
// WriteProtected true (a Glance image is read-only, and inserting it is
// the point); TransferMethod Upload; TransferProtocolType the URL's scheme;
// no credentials (Glance's web-download sends none).
func parseInsert(obj map[string]json.RawMessage) (insertRequest, *Error) {
	var req insertRequest
	for k := range obj {
		switch k {
		case "Image", "Inserted", "WriteProtected", "TransferMethod", "TransferProtocolType", "UserName", "Password":
		default:
			return req, refuse(http.StatusBadRequest, "ActionParameterUnknown", "", insertMedia, k)
		}
	}
	image, present, err := actionString(obj, "Image")
	if err != nil {
		return req, err
	}
	if !present {
		return req, refuse(http.StatusBadRequest, "ActionParameterMissing", "", insertMedia, "Image")
	}
	u, perr := url.Parse(image)
	switch {
	case perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return req, refuse(http.StatusBadRequest, "ActionParameterValueFormatError",
			"The cloud imports an image from an http:// or https:// URL.", image, "Image", insertMedia)
	case len(image) > nodes.MaxMediaURL:
		return req, refuse(http.StatusBadRequest, "ActionParameterValueFormatError",
			"The URL is kept in server metadata, whose values Nova limits to "+strconv.Itoa(nodes.MaxMediaURL)+" characters.",
			image, "Image", insertMedia)
	}
	for _, k := range []string{"Inserted", "WriteProtected"} {
		v, present, err := actionBool(obj, k)
		if err != nil {
			return req, err
		}
		if present && !v {
			reason := "Inserting the media is what this action does."
			if k == "WriteProtected" {
				reason = "The media is a Glance image, which cannot be written."
			}
			return req, refuse(http.StatusBadRequest, "ActionParameterNotSupported", reason, k, insertMedia)
		}
	}
	checks := []struct{ key, want, reason string }{
		{"TransferMethod", "Upload", "The cloud copies the whole image into Glance before the node boots it (Upload); it cannot stream it."},
		{"TransferProtocolType", strings.ToUpper(u.Scheme), "The protocol is the Image URL's scheme, " + strings.ToUpper(u.Scheme) + "."},
	}
	for _, c := range checks {
		v, present, err := actionString(obj, c.key)
		if err != nil {
			return req, err
		}
		if present && v != c.want {
			return req, refuse(http.StatusBadRequest, "ActionParameterNotSupported", c.reason, c.key, insertMedia)
		}
	}
	for _, k := range []string{"UserName", "Password"} {
		v, _, err := actionString(obj, k)
		if err != nil {
			return req, err
		}
		if v != "" {
			return req, refuse(http.StatusBadRequest, "ActionParameterNotSupported",
				"Glance's web-download import sends no credentials; serve the image without them.", k, insertMedia)
		}
	}
	req.image = image
	return req, nil
}

// ejectMedia is VirtualMedia.EjectMedia. sushy posts it without a body
// (and again with {} if that is refused); either is accepted.
func (s *Server) ejectMedia(w http.ResponseWriter, r *http.Request, _ principal, n nodes.Node) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		s.fail(w, r, refuse(http.StatusBadRequest, "MalformedJSON", "The body could not be read: "+err.Error()))
		return
	}
	if strings.TrimSpace(string(data)) != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			s.fail(w, r, refuse(http.StatusBadRequest, "MalformedJSON", "The body must be a JSON object."))
			return
		}
		for k := range obj {
			s.fail(w, r, refuse(http.StatusBadRequest, "ActionParameterUnknown", "", ejectMedia, k))
			return
		}
	}
	if _, ok := nodes.MediaOf(n); !ok {
		w.WriteHeader(http.StatusNoContent) // nothing inserted: already ejected
		return
	}
	if rerr := mediaChangeable(n, "ejected"); rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	if _, err := s.act.EjectMedia(r.Context(), n.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// actionString is an action parameter as a string.
func actionString(obj map[string]json.RawMessage, key string) (string, bool, *Error) {
	raw, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", true, refuse(http.StatusBadRequest, "ActionParameterValueTypeError", "", string(raw), key, insertMedia)
	}
	return v, true, nil
}

// actionBool is an action parameter as a boolean.
func actionBool(obj map[string]json.RawMessage, key string) (bool, bool, *Error) {
	raw, ok := obj[key]
	if !ok {
		return false, false, nil
	}
	var v bool
	if json.Unmarshal(raw, &v) != nil {
		return false, true, refuse(http.StatusBadRequest, "ActionParameterValueTypeError", "", string(raw), key, insertMedia)
	}
	return v, true, nil
}
