package cloudsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxLimit is Nova's osapi_max_limit: the most servers one page returns.
const maxLimit = 1000

func readJSON(c *call, into any) bool {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return false
	}
	return json.Unmarshal(b, into) == nil
}

// getServer looks up a live server; notFound is Nova's 404.
func (s *Sim) getServer(id string, action bool) (*server, *apiError) {
	v, ok := s.st.byID[id]
	if !ok && action {
		return nil, novaErr(404, "Instance %s has no mapping to a cell.", id)
	}
	if !ok || v.Deleted {
		return nil, novaErr(404, "Instance %s could not be found.", id)
	}
	return v, nil
}

// handleComputeVersions is Nova's unversioned root. Real Nova lists there a
// shorter entry than the version document (no media types, only the self
// link) and sends no microversion or request-id headers. It also lists the
// legacy v2.0, which the sim does not serve, so it is left out.
func (s *Sim) handleComputeVersions(c *call) *apiError {
	v := s.computeVersion(c.root)
	delete(v, "media-types")
	v["links"] = []any{map[string]any{"href": c.root + ComputePath + "/", "rel": "self"}}
	writeJSON(c.w, 200, map[string]any{"versions": []any{v}})
	return nil
}

func (s *Sim) handleComputeVersion(c *call) *apiError {
	writeJSON(c.w, 200, map[string]any{"version": s.computeVersion(c.root)})
	return nil
}

func (s *Sim) computeVersion(root string) map[string]any {
	return map[string]any{
		"id": "v2.1",
		"links": []any{
			map[string]any{"href": root + ComputePath + "/", "rel": "self"},
			map[string]any{"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"},
		},
		"media-types": []any{map[string]any{"base": "application/json",
			"type": "application/vnd.openstack.compute+json;version=2.1"}},
		"min_version": "2.1", "status": "CURRENT", "updated": "2013-07-23T11:33:21Z",
		"version": fmt.Sprintf("2.%d", s.maxMinor),
	}
}

// parseNovaTime accepts the ISO 8601 forms Nova's date-time check accepts.
func parseNovaTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05",
		"2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// handleServersList is GET /servers and GET /servers/detail.
func (s *Sim) handleServersList(detail bool) handlerFunc {
	return func(c *call) *apiError {
		q := c.r.URL.Query()
		limit := maxLimit
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				return novaErr(400, "Invalid input for query parameters limit. Value: %s. '%s' does not match '^[0-9]*$'", l, l)
			}
			limit = min(n, maxLimit)
		}
		var since, before time.Time
		for _, p := range []struct {
			name string
			t    *time.Time
		}{{"changes-since", &since}, {"changes-before", &before}} {
			if raw := q.Get(p.name); raw != "" {
				t, ok := parseNovaTime(raw)
				if !ok {
					return novaErr(400, "Invalid input for query parameters %s. Value: %s. '%s' is not a 'date-time'", p.name, raw, raw)
				}
				*p.t = t
			}
		}
		if !since.IsZero() && !before.IsZero() && before.Before(since) {
			return novaErr(400, "The value of changes-since must be less than or equal to changes-before.")
		}
		var nameRE *regexp.Regexp
		if n := q.Get("name"); n != "" {
			re, err := regexp.Compile(n)
			if err != nil {
				re = regexp.MustCompile(regexp.QuoteMeta(n))
			}
			nameRE = re
		}
		statuses := q["status"]
		deleted := q.Get("deleted")
		includeDeleted := deleted == "true" || ((!since.IsZero() || !before.IsZero()) && deleted != "false")
		onlyDeleted := deleted == "true"
		flavorRef, imageRef := q.Get("flavor"), q.Get("image")

		s.mu.Lock()
		defer s.mu.Unlock()
		startAt := len(s.st.servers) - 1
		if m := q.Get("marker"); m != "" {
			idx, ok := s.st.serverIndex[m]
			if !ok {
				return novaErr(400, "marker [%s] not found", m)
			}
			startAt = idx - 1
		}
		var page []*server
		for i := startAt; i >= 0 && len(page) < limit; i-- {
			v := s.st.servers[i]
			switch {
			case v.Deleted && !includeDeleted, !v.Deleted && onlyDeleted,
				!since.IsZero() && v.Updated.Before(since),
				!before.IsZero() && v.Updated.After(before),
				nameRE != nil && !nameRE.MatchString(v.Name),
				len(statuses) > 0 && !matchStatus(v, statuses),
				flavorRef != "" && v.Flavor.ID != flavorRef,
				imageRef != "" && v.ImageID != imageRef:
				continue
			}
			page = append(page, v)
		}
		var buf bytes.Buffer
		buf.WriteString(`{"servers": [`)
		for i, v := range page {
			if i > 0 {
				buf.WriteString(", ")
			}
			if detail {
				buf.Write(s.listEntry(v, c.root, c.mv))
			} else {
				b, _ := json.Marshal(summaryView(v, c.root))
				buf.Write(b)
			}
		}
		buf.WriteString("]")
		if len(page) > 0 && len(page) == limit {
			q.Set("marker", page[len(page)-1].ID)
			path := "/servers"
			if detail {
				path += "/detail"
			}
			next, _ := json.Marshal([]any{map[string]any{"href": c.root + ComputePath + path + "?" + q.Encode(), "rel": "next"}})
			buf.WriteString(`, "servers_links": `)
			buf.Write(next)
		}
		buf.WriteString("}")
		writeRaw(c.w, 200, buf.Bytes())
		return nil
	}
}

func matchStatus(v *server, statuses []string) bool {
	st := v.status()
	for _, want := range statuses {
		if strings.EqualFold(want, st) {
			return true
		}
	}
	return false
}

func (s *Sim) handleServerShow(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		if v, ok := s.st.byID[c.r.PathValue("id")]; ok && v.Deleted && !v.Purged {
			// Nova shows a just-deleted instance as DELETED for a moment.
			writeJSON(c.w, 200, map[string]any{"server": s.serverView(v, c.root, c.mv, true)})
			return nil
		}
		return err
	}
	writeJSON(c.w, 200, map[string]any{"server": s.serverView(v, c.root, c.mv, true)})
	return nil
}

type createRequest struct {
	Server *struct {
		Name         *string         `json:"name"`
		FlavorRef    *string         `json:"flavorRef"`
		ImageRef     *string         `json:"imageRef"`
		Networks     json.RawMessage `json:"networks"`
		Metadata     json.RawMessage `json:"metadata"`
		Description  *string         `json:"description"`
		BlockDevices []blockDevice   `json:"block_device_mapping_v2"`
	} `json:"server"`
}

// refID takes the id out of a reference that may be a full href.
func refID(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// validateMetadata applies Nova's schema (keys 1-255 chars, string values up
// to 255) and the metadata_items quota.
func validateMetadata(raw json.RawMessage, field string) (map[string]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]string{}, nil
	}
	var md map[string]any
	if err := json.Unmarshal(raw, &md); err != nil {
		return nil, novaErr(400, "Invalid input for field/attribute %s. Value: %s. %s is not of type 'object'", field, raw, raw)
	}
	out := make(map[string]string, len(md))
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(k) < 1 || len(k) > 255 {
			return nil, novaErr(400, "Invalid input for field/attribute %s. Value: %s. Additional properties are not allowed ('%s' was unexpected)", field, raw, k)
		}
		val, ok := md[k].(string)
		if !ok {
			return nil, novaErr(400, "Invalid input for field/attribute %s. Value: %v. %v is not of type 'string'", k, md[k], md[k])
		}
		if len(val) > 255 {
			return nil, novaErr(400, "Invalid input for field/attribute %s. Value: %s. '%s' is too long", k, val, val)
		}
		out[k] = val
	}
	if len(out) > metadataQuota {
		return nil, novaErr(403, "Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(out), metadataQuota)
	}
	return out, nil
}

// handleServerCreate is POST /servers.
func (s *Sim) handleServerCreate(c *call) *apiError {
	var req createRequest
	if !readJSON(c, &req) {
		return malformedNova()
	}
	sv := req.Server
	if sv == nil {
		return novaErr(400, "Invalid input for field/attribute server. Value: None. None is not of type 'object'")
	}
	if sv.Name == nil {
		return novaErr(400, "Invalid input for field/attribute server. Value: %s. 'name' is a required property", "{...}")
	}
	name := *sv.Name
	if name == "" || len(name) > 255 || strings.TrimSpace(name) != name {
		return novaErr(400, "Invalid input for field/attribute name. Value: %s. '%s' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", name, name)
	}
	if sv.FlavorRef == nil {
		return novaErr(400, "Invalid input for field/attribute server. Value: %s. 'flavorRef' is a required property", "{...}")
	}
	md, aerr := validateMetadata(sv.Metadata, "metadata")
	if aerr != nil {
		return aerr
	}
	type netReq struct {
		UUID string `json:"uuid"`
		Port string `json:"port"`
	}
	var nets []netReq
	auto := false
	switch {
	case len(sv.Networks) == 0 || string(sv.Networks) == "null":
		if c.mv.ge(37) {
			return novaErr(400, "Invalid input for field/attribute server. Value: %s. 'networks' is a required property", "{...}")
		}
		auto = true
	case string(sv.Networks) == `"none"`:
	case string(sv.Networks) == `"auto"`:
		auto = true
	default:
		if err := json.Unmarshal(sv.Networks, &nets); err != nil {
			return novaErr(400, "Invalid input for field/attribute networks. Value: %s. %s is not of type 'array'", sv.Networks, sv.Networks)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	fl := s.st.flavorByRef(refID(*sv.FlavorRef))
	if fl == nil {
		return novaErr(400, "Flavor %s could not be found.", refID(*sv.FlavorRef))
	}
	bootVol, deleteVol, aerr := s.bootVolume(sv.BlockDevices)
	if aerr != nil {
		return aerr
	}
	imageID := ""
	switch {
	case sv.ImageRef != nil && *sv.ImageRef != "":
		imageID = refID(*sv.ImageRef)
		im := s.st.imageByID(imageID)
		if im == nil {
			return novaErr(400, "Can not find requested image")
		}
		if im.Status != "active" {
			return novaErr(400, "Image %s is not active.", imageID)
		}
	case bootVol == nil:
		return novaErr(400, "Missing imageRef attribute")
	}
	if aerr := s.checkComputeQuota(fl); aerr != nil {
		return aerr
	}
	if auto && len(s.st.networks) > 0 {
		nets = []netReq{{UUID: s.st.networks[0].ID}}
	}
	// Validate every requested network and port before changing anything.
	for _, n := range nets {
		switch {
		case n.Port != "":
			p := s.st.portByID(n.Port)
			if p == nil {
				return novaErr(400, "Port id %s could not be found.", n.Port)
			}
			if p.DeviceID != "" {
				return novaErr(409, "Port %s is still in use.", n.Port)
			}
			// Nova checks fixed_ips unless Neutron shows the port's
			// ip_allocation as deferred or none, which needs the segments
			// plugin; this Neutron, like the reference cloud's, has none.
			if len(p.FixedIPs) == 0 {
				return novaErr(400, "Port %s requires a FixedIP in order to be used.", n.Port)
			}
		case n.UUID != "":
			if s.st.networkByID(n.UUID) == nil {
				return novaErr(400, "Network %s could not be found.", n.UUID)
			}
		default:
			return novaErr(400, "Bad networks format: network uuid is not in proper format (%s)", "")
		}
	}
	now := s.now()
	v := s.st.newServer(name, fl, imageID, md, now)
	v.Description = sv.Description
	if bootVol != nil {
		s.attachBootVolume(bootVol, v, deleteVol)
	}
	for _, n := range nets {
		p := s.st.portByID(n.Port)
		if p == nil {
			p, _ = s.st.addPort(s.st.networkByID(n.UUID), "", "", now)
			p.novaMade = true
		}
		s.st.bindPort(p, v, now)
	}
	d := s.opts.TransitionDelay
	s.startTask(v, "", []step{
		{d, func(v *server) { v.TaskState = "" }},
		{d, func(v *server) { v.TaskState = "networking" }},
		{d, func(v *server) { v.TaskState = "spawning" }},
		{d, func(v *server) {
			v.VMState, v.TaskState, v.PowerState = vmActive, "", powerRunning
			v.LaunchedAt = s.now().UTC()
		}},
	})
	api, bm := computeURLs(c.root)
	c.w.Header().Set("Location", api+"/servers/"+v.ID)
	writeJSON(c.w, 202, map[string]any{"server": map[string]any{
		"OS-DCF:diskConfig": "MANUAL", "adminPass": randAlnum(12), "id": v.ID,
		"links":           links(api+"/servers/"+v.ID, bm+"/servers/"+v.ID),
		"security_groups": []any{map[string]any{"name": "default"}},
	}})
	return nil
}

// handleServerDelete is DELETE /servers/{id}.
func (s *Sim) handleServerDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	s.deleteServer(v, false)
	writeEmpty(c.w, 204)
	return nil
}

// deleteServer runs Nova's delete: task_state deleting, then
// DELETED/deleted/power 0 (ports released), then gone from GET. immediate
// skips the task (out-of-band deletes). Caller holds s.mu.
func (s *Sim) deleteServer(v *server, immediate bool) {
	finish := func(v *server) {
		now := s.now()
		v.VMState, v.TaskState, v.PowerState = vmDeleted, "", powerNoState
		v.Deleted = true
		v.TerminatedAt = now.UTC()
		for _, pid := range v.Ports {
			p := s.st.portByID(pid)
			if p == nil {
				continue
			}
			if p.novaMade {
				s.st.deletePort(pid)
			} else {
				s.st.unbindPort(p, now)
			}
		}
		s.releaseServerVolumes(v)
	}
	purge := func(v *server) { v.Purged = true }
	if immediate {
		v.gen++
		s.stopTimer(v)
		finish(v)
		purge(v)
		v.touch(s.now())
		s.notify()
		return
	}
	v.TaskState = "deleting"
	d := s.opts.TransitionDelay
	s.startTask(v, "", []step{{d, finish}, {d, purge}})
}

// novaMetadataStates are the vm_states in which Nova accepts metadata writes.
func metadataWritable(vm string) bool {
	switch vm {
	case vmActive, vmPaused, vmSuspend, vmStopped, "shelved", "shelved_offloaded":
		return true
	}
	return false
}

func (s *Sim) handleMetadataList(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	writeJSON(c.w, 200, map[string]any{"metadata": copyMap(v.Metadata)})
	return nil
}

// handleMetadataWrite is POST (merge) and PUT (replace) /servers/{id}/metadata.
func (s *Sim) handleMetadataWrite(replace bool) handlerFunc {
	return func(c *call) *apiError {
		var req struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		if !readJSON(c, &req) {
			return malformedNova()
		}
		if req.Metadata == nil {
			return novaErr(400, "Invalid input for field/attribute metadata. Value: None. 'metadata' is a required property")
		}
		md, aerr := validateMetadata(req.Metadata, "metadata")
		if aerr != nil {
			return aerr
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		v, err := s.getServer(c.r.PathValue("id"), false)
		if err != nil {
			return err
		}
		if !metadataWritable(v.VMState) {
			return conflict("update metadata", v.ID, "vm_state", v.VMState)
		}
		next := md
		if !replace {
			next = copyMap(v.Metadata)
			for k, val := range md {
				next[k] = val
			}
		}
		if len(next) > metadataQuota {
			return novaErr(403, "Quota exceeded for metadata_items: Requested %d, but already used %d of %d metadata_items", len(md), len(v.Metadata), metadataQuota)
		}
		v.Metadata = next
		v.touch(s.now())
		s.notify()
		writeJSON(c.w, 200, map[string]any{"metadata": copyMap(next)})
		return nil
	}
}

func (s *Sim) handleMetaItemGet(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	key := c.r.PathValue("key")
	val, ok := v.Metadata[key]
	if !ok {
		return novaErr(404, "Metadata item was not found")
	}
	writeJSON(c.w, 200, map[string]any{"meta": map[string]string{key: val}})
	return nil
}

func (s *Sim) handleMetaItemPut(c *call) *apiError {
	var req struct {
		Meta json.RawMessage `json:"meta"`
	}
	if !readJSON(c, &req) {
		return malformedNova()
	}
	if req.Meta == nil {
		return novaErr(400, "Invalid input for field/attribute meta. Value: None. 'meta' is a required property")
	}
	md, aerr := validateMetadata(req.Meta, "meta")
	if aerr != nil {
		return aerr
	}
	key := c.r.PathValue("key")
	if len(md) > 1 {
		return novaErr(400, "Request body contains too many items")
	}
	if _, ok := md[key]; !ok {
		return novaErr(400, "Request body and URI mismatch")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	if !metadataWritable(v.VMState) {
		return conflict("update metadata", v.ID, "vm_state", v.VMState)
	}
	if _, exists := v.Metadata[key]; !exists && len(v.Metadata)+1 > metadataQuota {
		return novaErr(403, "Quota exceeded for metadata_items: Requested 1, but already used %d of %d metadata_items", len(v.Metadata), metadataQuota)
	}
	v.Metadata[key] = md[key]
	v.touch(s.now())
	s.notify()
	writeJSON(c.w, 200, map[string]any{"meta": md})
	return nil
}

func (s *Sim) handleMetaItemDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	if !metadataWritable(v.VMState) {
		return conflict("delete metadata", v.ID, "vm_state", v.VMState)
	}
	key := c.r.PathValue("key")
	if _, ok := v.Metadata[key]; !ok {
		return novaErr(404, "Metadata item was not found")
	}
	delete(v.Metadata, key)
	v.touch(s.now())
	s.notify()
	writeEmpty(c.w, 204)
	return nil
}

func (s *Sim) handleServerIPs(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	writeJSON(c.w, 200, map[string]any{"addresses": s.addresses(v, false)})
	return nil
}

func (s *Sim) handleInterfaces(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	out := []any{}
	for _, pid := range v.Ports {
		p := s.st.portByID(pid)
		if p == nil {
			continue
		}
		att := map[string]any{"fixed_ips": fixedIPsView(p), "mac_addr": p.MAC, "net_id": p.NetworkID,
			"port_id": p.ID, "port_state": "DOWN"}
		if c.mv.ge(70) {
			att["tag"] = nil
		}
		out = append(out, att)
	}
	writeJSON(c.w, 200, map[string]any{"interfaceAttachments": out})
	return nil
}

func (s *Sim) handleFlavorsList(detail bool) handlerFunc {
	return func(c *call) *apiError {
		s.mu.Lock()
		fls := append([]*flavor(nil), s.st.flavors...)
		s.mu.Unlock()
		sort.Slice(fls, func(i, j int) bool { return fls[i].ID < fls[j].ID })
		out := []any{}
		for _, f := range fls {
			out = append(out, flavorView(f, c.root, c.mv, detail))
		}
		writeJSON(c.w, 200, map[string]any{"flavors": out})
		return nil
	}
}

func (s *Sim) handleFlavorShow(c *call) *apiError {
	s.mu.Lock()
	f := s.st.flavorByRef(c.r.PathValue("id"))
	s.mu.Unlock()
	if f == nil {
		return novaErr(404, "Flavor %s could not be found.", c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"flavor": flavorView(f, c.root, c.mv, true)})
	return nil
}

// handleFlavorExtraSpecs is GET /flavors/{id}/os-extra_specs, which the
// openstack CLI reads for every flavor it lists before microversion 2.61.
func (s *Sim) handleFlavorExtraSpecs(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.flavorByRef(c.r.PathValue("id"))
	if f == nil {
		return novaErr(404, "Flavor %s could not be found.", c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"extra_specs": extraSpecsView(f)})
	return nil
}

// nextLink is unused by Neutron callers that need a "next" href with marker.
func nextLink(base string, q url.Values, marker string) string {
	q.Set("marker", marker)
	return base + "?" + q.Encode()
}
