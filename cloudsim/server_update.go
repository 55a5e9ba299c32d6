package cloudsim

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// PUT /servers/{id} and the server tags (2.26+). Recorded from real Nova
// (conformance/testdata/realcloud/TestRescuedServerWrites.json): a rescued
// server refuses metadata and tag writes but takes a new name or
// description, which quintupleo's rescue boot strategy relies on.

// maxServerTags is Nova's per-server tag limit (instance_tags.MAX_TAG_COUNT).
const maxServerTags = 50

// handleServerUpdate is PUT /servers/{id}: name, description (2.19+) and
// the fields quintupleo never sets, which are accepted and ignored. Nova
// checks no state; the answer is the server as GET shows it (2.75+).
func (s *Sim) handleServerUpdate(c *call) *apiError {
	var req struct {
		Server map[string]json.RawMessage `json:"server"`
	}
	if !readJSON(c, &req) {
		return malformedNova()
	}
	if req.Server == nil {
		return novaErr(400, "Invalid input for field/attribute server. Value: None. None is not of type 'object'")
	}
	var name, desc *string
	clearDesc := false
	for _, k := range slices.Sorted(maps.Keys(req.Server)) {
		raw := req.Server[k]
		switch {
		case k == "name":
			if json.Unmarshal(raw, &name) != nil || name == nil || *name == "" || utf8.RuneCountInString(*name) > 255 || strings.TrimSpace(*name) != *name {
				return novaErr(400, "Invalid input for field/attribute name. Value: %s. %s does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", raw, raw)
			}
		case k == "description" && c.mv.ge(19):
			if string(raw) == "null" {
				clearDesc = true
				continue
			}
			if json.Unmarshal(raw, &desc) != nil {
				return novaErr(400, "Invalid input for field/attribute description. Value: %s. %s is not of type 'string', 'null'", raw, raw)
			}
			if utf8.RuneCountInString(*desc) > 255 {
				return novaErr(400, "Invalid input for field/attribute description. Value: %s. '%s' is too long", *desc, *desc)
			}
		case k == "accessIPv4" || k == "accessIPv6" || k == "OS-DCF:diskConfig" || k == "hostname" && c.mv.ge(90):
		default:
			return novaErr(400, "Invalid input for field/attribute server. Value: %s. Additional properties are not allowed ('%s' was unexpected)", "{...}", k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return err
	}
	if name != nil {
		v.Name = *name
	}
	if desc != nil || clearDesc {
		v.Description = desc
	}
	v.touch(s.now())
	s.notify()
	writeJSON(c.w, 200, map[string]any{"server": s.serverView(v, c.root, c.mv, true)})
	return nil
}

// tagsWritable are the vm_states in which Nova's server_tags controller
// takes writes (_check_instance_in_valid_state); rescued is not one of
// them (recorded).
func tagsWritable(vm string) bool {
	switch vm {
	case vmActive, vmPaused, vmSuspend, vmStopped:
		return true
	}
	return false
}

// tagServer is the server of a tags request: 2.26+, live, and (for a
// write called action) in a state that takes tag writes. Caller holds s.mu.
func (s *Sim) tagServer(c *call, action string) (*server, *apiError) {
	if !c.mv.ge(26) {
		return nil, novaErr(404, "The resource could not be found.")
	}
	v, err := s.getServer(c.r.PathValue("id"), false)
	if err != nil {
		return nil, err
	}
	if action != "" && !tagsWritable(v.VMState) {
		return nil, conflict(action, v.ID, "vm_state", v.VMState)
	}
	return v, nil
}

// validTag is Nova's tag schema: 1-60 characters, no '/' or ','.
func validTag(t string) *apiError {
	if t == "" || utf8.RuneCountInString(t) > 60 || strings.ContainsAny(t, "/,") {
		return novaErr(400, "Invalid input for field/attribute tag. Value: %s. '%s' does not match '^[^,/]*$'", t, t)
	}
	return nil
}

// setTags stores tags (sorted, without duplicates) and drops the render
// cache; Nova keeps tags apart from the instance row, so `updated` stays.
func setTags(v *server, tags []string) {
	slices.Sort(tags)
	v.Tags = slices.Compact(tags)
	v.cache = nil
}

func (s *Sim) handleTagsList(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "")
	if err != nil {
		return err
	}
	writeJSON(c.w, 200, map[string]any{"tags": tagList(v)})
	return nil
}

func tagList(v *server) []string {
	return append([]string{}, v.Tags...)
}

func (s *Sim) handleTagsReplace(c *call) *apiError {
	var req struct {
		Tags *[]string `json:"tags"`
	}
	if !readJSON(c, &req) || req.Tags == nil {
		return novaErr(400, "Invalid input for field/attribute tags. Value: None. 'tags' is a required property")
	}
	for _, t := range *req.Tags {
		if err := validTag(t); err != nil {
			return err
		}
	}
	if len(*req.Tags) > maxServerTags {
		return novaErr(400, "The number of tags exceeded the per-server limit %d", maxServerTags)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "update tags")
	if err != nil {
		return err
	}
	setTags(v, slices.Clone(*req.Tags))
	writeJSON(c.w, 200, map[string]any{"tags": tagList(v)})
	return nil
}

func (s *Sim) handleTagsDeleteAll(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "delete tags")
	if err != nil {
		return err
	}
	setTags(v, nil)
	writeEmpty(c.w, 204)
	return nil
}

func (s *Sim) handleTagCheck(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "")
	if err != nil {
		return err
	}
	if tag := c.r.PathValue("tag"); !slices.Contains(v.Tags, tag) {
		return novaErr(404, "Instance %s has no tag '%s'", v.ID, tag)
	}
	writeEmpty(c.w, 204)
	return nil
}

// handleTagAdd is PUT /servers/{id}/tags/{tag}: 201 with the tag's
// Location when new, 204 when the server has it already.
func (s *Sim) handleTagAdd(c *call) *apiError {
	tag := c.r.PathValue("tag")
	if err := validTag(tag); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "update tag")
	if err != nil {
		return err
	}
	if slices.Contains(v.Tags, tag) {
		writeEmpty(c.w, 204)
		return nil
	}
	if len(v.Tags) >= maxServerTags {
		return novaErr(400, "The number of tags exceeded the per-server limit %d", maxServerTags)
	}
	setTags(v, append(slices.Clone(v.Tags), tag))
	api, _ := computeURLs(c.root)
	c.w.Header().Set("Location", api+"/servers/"+v.ID+"/tags/"+tag)
	writeEmpty(c.w, 201)
	return nil
}

func (s *Sim) handleTagDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.tagServer(c, "delete tag")
	if err != nil {
		return err
	}
	tag := c.r.PathValue("tag")
	i := slices.Index(v.Tags, tag)
	if i < 0 {
		return novaErr(404, "Instance %s has no tag '%s'", v.ID, tag)
	}
	setTags(v, slices.Delete(slices.Clone(v.Tags), i, i+1))
	writeEmpty(c.w, 204)
	return nil
}
