package cloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cinder (block storage v3) as Zed answers it with the fake volume driver:
// the bodies, messages and status sequences of testdata/realcinder/, recorded
// from realcloud with RC_SERVICES=cinder.

// cinderTime is Cinder's timestamp format: "2026-12-01T21:18:08.000000".
const cinderTime = "2006-01-02T15:04:05.000000"

// Cinder's microversions (Zed) and the host the fake backend reports.
const (
	cinderMaxMinor = 70
	volumeHost     = "sim-storage@fake#fake"
	defaultType    = "__DEFAULT__"
)

// Volume statuses.
const (
	volCreating  = "creating"
	volAvailable = "available"
	volReserved  = "reserved"
	volAttaching = "attaching"
	volInUse     = "in-use"
	volDeleting  = "deleting"
)

// BlockQuota is the block-storage quota of the sim's project: -1 is
// unlimited. The zero value means DefaultBlockQuota.
type BlockQuota struct {
	Volumes, Gigabytes, Snapshots int
}

// DefaultBlockQuota is the quota realcloud's bootstrap gives its admin
// project (Cinder's own defaults are 10 volumes, 1000 GB, 10 snapshots).
var DefaultBlockQuota = BlockQuota{Volumes: 1000, Gigabytes: 100000, Snapshots: 1000}

type volumeType struct {
	ID, Name, Description string
}

type volAttachment struct {
	ID, ServerID, Device string
	AttachedAt           time.Time
}

type volume struct {
	ID, Name, Description string
	Size                  int
	Status                string
	Metadata              map[string]string
	Type                  *volumeType
	Bootable              bool
	Created, Updated      time.Time // Updated zero = null
	Attachment            *volAttachment
	// deleteWithServer: boot volume with delete_on_termination.
	deleteWithServer bool

	gen   int
	timer *time.Timer
}

// volumeView is the detail view (show, detail list, create, update) at
// microversion minor; admin adds the os-vol-* attributes of show and list.
func (s *Sim) volumeView(vol *volume, root string, minor int, admin bool) map[string]any {
	self := root + VolumePath + "/v3/" + s.st.projectID + "/volumes/" + vol.ID
	bookmark := root + VolumePath + "/" + s.st.projectID + "/volumes/" + vol.ID
	atts := []any{}
	if a := vol.Attachment; a != nil {
		atts = append(atts, map[string]any{"attached_at": a.AttachedAt.Format(cinderTime), "attachment_id": a.ID,
			"device": a.Device, "host_name": computeHost, "id": vol.ID, "server_id": a.ServerID, "volume_id": vol.ID})
	}
	var updated any
	if !vol.Updated.IsZero() {
		updated = vol.Updated.Format(cinderTime)
	}
	m := map[string]any{
		"attachments": atts, "availability_zone": availZone, "bootable": strconv.FormatBool(vol.Bootable),
		"consistencygroup_id": nil, "created_at": vol.Created.Format(cinderTime), "description": nullStr(vol.Description),
		"encrypted": false, "id": vol.ID, "links": links(self, bookmark), "metadata": copyMap(vol.Metadata),
		"migration_status": nil, "multiattach": false, "name": nullStr(vol.Name), "replication_status": nil,
		"size": vol.Size, "snapshot_id": nil, "source_volid": nil, "status": vol.Status, "updated_at": updated,
		"user_id": s.st.userID, "volume_type": vol.Type.Name,
	}
	if admin {
		m["os-vol-host-attr:host"] = volumeHost
		m["os-vol-mig-status-attr:migstat"] = nil
		m["os-vol-mig-status-attr:name_id"] = nil
		m["os-vol-tenant-attr:tenant_id"] = s.st.projectID
	}
	for _, f := range []struct {
		minor int
		key   string
		val   any
	}{{13, "group_id", nil}, {21, "provider_id", nil}, {48, "service_uuid", s.st.volumeServiceID},
		{48, "shared_targets", false}, {61, "cluster_name", nil}, {63, "volume_type_id", vol.Type.ID},
		{65, "consumes_quota", true}} {
		if minor >= f.minor {
			m[f.key] = f.val
		}
	}
	return m
}

func (s *Sim) volumeSummary(vol *volume, root string) map[string]any {
	self := root + VolumePath + "/v3/" + s.st.projectID + "/volumes/" + vol.ID
	bookmark := root + VolumePath + "/" + s.st.projectID + "/volumes/" + vol.ID
	return map[string]any{"id": vol.ID, "links": links(self, bookmark), "name": nullStr(vol.Name)}
}

func volumeTypeView(vt *volumeType, list bool) map[string]any {
	m := map[string]any{"description": vt.Description, "extra_specs": map[string]any{}, "id": vt.ID,
		"is_public": true, "name": vt.Name, "qos_specs_id": nil}
	if list {
		m["os-volume-type-access:is_public"] = true
	}
	return m
}

// cinderErr is Cinder's fault body (the same wrapper names as Nova's).
func cinderErr(status int, format string, args ...any) *apiError {
	e := novaErr(status, format, args...)
	e.ctype = "application/json"
	if status == 413 {
		e.body.(map[string]any)["overLimit"].(map[string]any)["retryAfter"] = "0"
	}
	return e
}

func volumeNotFound(id string) *apiError {
	return cinderErr(404, "Volume %s could not be found.", id)
}

// volumeMicroversion reads "OpenStack-API-Version: volume 3.N" (or
// X-OpenStack-Volume-API-Version); absent means 3.0.
func volumeMicroversion(h http.Header) (int, *apiError) {
	v := ""
	if raw := h.Get("OpenStack-API-Version"); raw != "" {
		if f := strings.Fields(raw); len(f) == 2 && strings.EqualFold(f[0], "volume") {
			v = f[1]
		}
	}
	if v == "" {
		v = h.Get("X-OpenStack-Volume-API-Version")
	}
	switch v {
	case "":
		return 0, nil
	case "latest":
		return cinderMaxMinor, nil
	}
	maj, min, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(min)
	if !ok || maj != "3" || err != nil || n < 0 || n > cinderMaxMinor {
		return 0, cinderErr(404, "Version %s is not supported by the API. Minimum is 3.0 and maximum is 3.%d.", v, cinderMaxMinor)
	}
	return n, nil
}

// volumeCall is the common part of every project-scoped Cinder handler:
// the URL's project, the microversion header.
func (s *Sim) volumeCall(h func(c *call, minor int) *apiError) handlerFunc {
	return func(c *call) *apiError {
		c.w.Header().Set("Vary", "OpenStack-API-Version")
		minor, err := volumeMicroversion(c.r.Header)
		if err != nil {
			c.w.Header().Set("OpenStack-API-Version", "volume 3.0")
			return err
		}
		c.w.Header().Set("OpenStack-API-Version", fmt.Sprintf("volume 3.%d", minor))
		if c.r.PathValue("project") != s.st.projectID {
			return cinderErr(400, "Malformed request url")
		}
		return h(c, minor)
	}
}

func (s *Sim) cinderVersions(root string) map[string]any {
	return map[string]any{"versions": []any{map[string]any{
		"id": "v3.0", "status": "CURRENT", "version": fmt.Sprintf("3.%d", cinderMaxMinor), "min_version": "3.0",
		"updated": "2022-08-31T00:00:00Z",
		"links": []any{
			map[string]any{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
			map[string]any{"rel": "self", "href": root + VolumePath + "/v3/"},
		},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}}}
}

// handleVolumeVersions is Cinder's unversioned root (300, no token needed)
// and, with a token, /v3/ (200, the same list).
func (s *Sim) handleVolumeVersions(status int) handlerFunc {
	return func(c *call) *apiError {
		c.w.Header().Set("OpenStack-API-Version", "volume 3.0")
		c.w.Header().Set("Vary", "OpenStack-API-Version")
		writeJSON(c.w, status, s.cinderVersions(c.root))
		return nil
	}
}

// handleVolumeProjectRoot is the catalog URL itself with a token: real
// Cinder routes nothing there and answers webob's 404.
func (s *Sim) handleVolumeProjectRoot(c *call, _ int) *apiError {
	e := glanceErr(404, "The resource could not be found.")
	e.ctype = "application/json"
	return e
}

// handleVolumeV3Redirect is GET /v3 with a token: Cinder's 302 to /v3/.
func (s *Sim) handleVolumeV3Redirect(c *call) *apiError {
	c.w.Header().Set("Location", c.root+VolumePath+"/v3/")
	c.w.Header().Set("Content-Type", "text/plain; charset=utf8")
	c.w.WriteHeader(302)
	return nil
}

func (s *Sim) handleVolumeTypes(c *call, _ int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, vt := range s.st.volumeTypes {
		out = append(out, volumeTypeView(vt, true))
	}
	writeJSON(c.w, 200, map[string]any{"volume_types": out})
	return nil
}

func (s *Sim) handleVolumeTypeShow(c *call, _ int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	vt := s.st.volumeTypeByID(id)
	if id == "default" {
		vt = s.st.volumeTypes[0]
	}
	if vt == nil {
		return cinderErr(404, "Volume type %s could not be found.", id)
	}
	writeJSON(c.w, 200, map[string]any{"volume_type": volumeTypeView(vt, false)})
	return nil
}

// blockQuotaLimits is the quota set as Cinder lists it (the per-type
// entries of the one type are unlimited, as Cinder creates them).
func (s *Sim) blockQuotaLimits() map[string]int {
	q := s.opts.BlockQuota
	return map[string]int{
		"backup_gigabytes": 1000, "backups": 10, "gigabytes": q.Gigabytes, "gigabytes___DEFAULT__": -1,
		"groups": 10, "per_volume_gigabytes": -1, "snapshots": q.Snapshots, "snapshots___DEFAULT__": -1,
		"volumes": q.Volumes, "volumes___DEFAULT__": -1,
	}
}

// blockUsage counts the project's volumes and gigabytes (every volume
// consumes quota until it is gone, as in Cinder).
func (st *state) blockUsage() (vols, gb int) {
	for _, v := range st.volumes {
		vols++
		gb += v.Size
	}
	return vols, gb
}

func (s *Sim) handleQuotaShow(defaults bool) func(c *call, _ int) *apiError {
	return func(c *call, _ int) *apiError {
		s.mu.Lock()
		defer s.mu.Unlock()
		limits := s.blockQuotaLimits()
		if defaults {
			limits["gigabytes"], limits["volumes"], limits["snapshots"] = 1000, 10, 10
		}
		body := map[string]any{"id": c.r.PathValue("tenant")}
		usage := !defaults && strings.EqualFold(c.r.URL.Query().Get("usage"), "true")
		vols, gb := s.st.blockUsage()
		inUse := map[string]int{"volumes": vols, "gigabytes": gb, "volumes___DEFAULT__": vols, "gigabytes___DEFAULT__": gb}
		for k, lim := range limits {
			if usage {
				body[k] = map[string]any{"in_use": inUse[k], "limit": lim, "reserved": 0}
			} else {
				body[k] = lim
			}
		}
		writeJSON(c.w, 200, map[string]any{"quota_set": body})
		return nil
	}
}

// handleVolumesList is GET /volumes (summary) and /volumes/detail, with
// Cinder's filters name, status, metadata and bootable, and limit/marker.
func (s *Sim) handleVolumesList(detail bool) func(c *call, minor int) *apiError {
	return func(c *call, minor int) *apiError {
		q := c.r.URL.Query()
		limit := -1
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				return cinderErr(400, "Invalid input received: limit param must be an integer")
			}
			limit = n
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		vols := append([]*volume(nil), s.st.volumes...)
		// Cinder's default sort: created_at desc, then id desc.
		sort.SliceStable(vols, func(i, j int) bool {
			if !vols[i].Created.Equal(vols[j].Created) {
				return vols[i].Created.After(vols[j].Created)
			}
			return vols[i].ID > vols[j].ID
		})
		if m := q.Get("marker"); m != "" {
			i := 0
			for i < len(vols) && vols[i].ID != m {
				i++
			}
			if i == len(vols) {
				return cinderErr(400, "Invalid input received: marker [%s] not found", m)
			}
			vols = vols[i+1:]
		}
		out := []any{}
		for _, v := range vols {
			if n := q.Get("name"); n != "" && v.Name != n {
				continue
			}
			if st := q.Get("status"); st != "" && v.Status != st {
				continue
			}
			if limit >= 0 && len(out) == limit {
				break
			}
			if detail {
				out = append(out, s.volumeView(v, c.root, minor, true))
			} else {
				out = append(out, s.volumeSummary(v, c.root))
			}
		}
		body := map[string]any{"volumes": out}
		if limit > 0 && len(out) == limit {
			last := out[len(out)-1].(map[string]any)["id"].(string)
			body["volumes_links"] = []any{map[string]any{"rel": "next", "href": nextLink(c.root+c.r.URL.Path, q, last)}}
		}
		writeJSON(c.w, 200, body)
		return nil
	}
}

func (s *Sim) handleVolumeShow(c *call, minor int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.volumeByID(c.r.PathValue("id"))
	if v == nil {
		return volumeNotFound(c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, map[string]any{"volume": s.volumeView(v, c.root, minor, true)})
	return nil
}

var cinderSizeRE = regexp.MustCompile(`^[0-9]+$`)

// parseVolumeSize applies Cinder's schema to "size": an integer, or a string
// of digits, at least 1.
func parseVolumeSize(raw json.RawMessage) (int, *apiError) {
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n < 1 {
			return 0, cinderErr(400, "Invalid input for field/attribute size. Value: %s. %s is less than the minimum of 1", raw, raw)
		}
		if n != float64(int(n)) {
			return 0, cinderErr(400, "Invalid input for field/attribute size. Value: %s. %s is not valid under any of the given schemas", raw, raw)
		}
		return int(n), nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		if !cinderSizeRE.MatchString(str) {
			return 0, cinderErr(400, "Invalid input for field/attribute size. Value: %s. '%s' does not match '^[0-9]+$'", str, str)
		}
		n, _ := strconv.Atoi(str)
		if n < 1 {
			return 0, cinderErr(400, "Invalid input for field/attribute size. Value: %s. %s is less than the minimum of 1", str, str)
		}
		return n, nil
	}
	return 0, cinderErr(400, "Invalid input for field/attribute size. Value: %s. %s is not valid under any of the given schemas", raw, raw)
}

// volumeBody is the create/update request.
type volumeBody struct {
	Volume *struct {
		Size        json.RawMessage   `json:"size"`
		Name        *string           `json:"name"`
		Description *string           `json:"description"`
		Metadata    map[string]string `json:"metadata"`
		VolumeType  string            `json:"volume_type"`
	} `json:"volume"`
}

// handleVolumeCreate is POST /volumes: 202 in creating, available one
// transition later (the fake driver creates nothing).
func (s *Sim) handleVolumeCreate(c *call, minor int) *apiError {
	var req volumeBody
	if !readJSON(c, &req) {
		return cinderErr(400, "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	r := req.Volume
	if r == nil {
		return cinderErr(400, "'volume' is a required property")
	}
	if len(r.Size) == 0 || string(r.Size) == "null" {
		// Without size (and without a source to take it from) Cinder's API
		// fails deep in the create flow, with webob's generic text.
		return cinderErr(400, "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	size, aerr := parseVolumeSize(r.Size)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vt := s.st.volumeTypes[0]
	if r.VolumeType != "" {
		if vt = s.st.volumeTypeByName(r.VolumeType); vt == nil {
			if vt = s.st.volumeTypeByID(r.VolumeType); vt == nil {
				return cinderErr(404, "Volume type with name %s could not be found.", r.VolumeType)
			}
		}
	}
	if aerr := s.checkBlockQuota(size); aerr != nil {
		return aerr
	}
	now := s.now().UTC()
	v := &volume{ID: uuid(), Size: size, Status: volCreating, Metadata: map[string]string{}, Type: vt, Created: now}
	if r.Name != nil {
		v.Name = *r.Name
	}
	if r.Description != nil {
		v.Description = *r.Description
	}
	for k, val := range r.Metadata {
		v.Metadata[k] = val
	}
	s.st.volumes = append(s.st.volumes, v)
	s.changedVolume(v)
	body := map[string]any{"volume": s.volumeView(v, c.root, minor, false)}
	v.Created = now.Truncate(time.Second) // the DB keeps seconds; the create answer shows microseconds
	s.volumeSteps(v, []volStep{{s.opts.TransitionDelay, func(v *volume) { s.setVolumeStatus(v, volAvailable) }}})
	writeJSON(c.w, 202, body)
	return nil
}

// checkBlockQuota is Cinder's reservation check for size more gigabytes
// and one more volume. Caller holds s.mu.
func (s *Sim) checkBlockQuota(size int) *apiError {
	q := s.opts.BlockQuota
	vols, gb := s.st.blockUsage()
	if q.Gigabytes >= 0 && gb+size > q.Gigabytes {
		return cinderErr(413, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.", size, q.Gigabytes, gb)
	}
	if q.Volumes >= 0 && vols+1 > q.Volumes {
		return cinderErr(413, "VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota 'volumes'.", q.Volumes)
	}
	return nil
}

// handleVolumeUpdate is PUT /volumes/{id}: name, description, metadata
// (replaced), in any status.
func (s *Sim) handleVolumeUpdate(c *call, minor int) *apiError {
	var req volumeBody
	if !readJSON(c, &req) {
		return cinderErr(400, "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	if req.Volume == nil {
		return cinderErr(400, "'volume' is a required property")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.volumeByID(c.r.PathValue("id"))
	if v == nil {
		return volumeNotFound(c.r.PathValue("id"))
	}
	r := req.Volume
	if r.Name != nil {
		v.Name = *r.Name
	}
	if r.Description != nil {
		v.Description = *r.Description
	}
	if r.Metadata != nil {
		v.Metadata = copyMap(r.Metadata)
	}
	v.Updated = s.now().UTC().Truncate(time.Second)
	writeJSON(c.w, 200, map[string]any{"volume": s.volumeView(v, c.root, minor, false)})
	return nil
}

// deletableStatuses are the statuses Cinder's delete accepts.
var deletableStatuses = map[string]bool{"available": true, "error": true, "error_restoring": true,
	"error_extending": true, "error_managing": true}

// handleVolumeDelete is DELETE /volumes/{id}: 202, deleting, then gone.
func (s *Sim) handleVolumeDelete(c *call, _ int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.volumeByID(c.r.PathValue("id"))
	if v == nil {
		return volumeNotFound(c.r.PathValue("id"))
	}
	if !deletableStatuses[v.Status] || v.Attachment != nil {
		return cinderErr(400, "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
	}
	s.deleteVolume(v)
	c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(202)
	return nil
}

// setVolumeStatus sets v's status ("" = v is gone) and reports it to
// Options.OnVolumeChange. Caller holds s.mu.
func (s *Sim) setVolumeStatus(v *volume, status string) {
	if status != "" {
		v.Status = status
	}
	if s.opts.OnVolumeChange != nil {
		s.opts.OnVolumeChange(v.ID, status)
	}
}

// changedVolume reports v's current status to Options.OnVolumeChange.
// Caller holds s.mu.
func (s *Sim) changedVolume(v *volume) { s.setVolumeStatus(v, v.Status) }

// deleteVolume runs Cinder's delete: deleting now, gone one transition
// later. Caller holds s.mu.
func (s *Sim) deleteVolume(v *volume) {
	s.setVolumeStatus(v, volDeleting)
	v.Updated = s.now().UTC().Truncate(time.Second)
	s.volumeSteps(v, []volStep{{s.opts.TransitionDelay, func(v *volume) {
		s.st.volumes = deleteByID(s.st.volumes, v.ID)
		s.setVolumeStatus(v, "")
	}}})
}

// handleVolumeAction is POST /volumes/{id}/action: os-set_bootable.
func (s *Sim) handleVolumeAction(c *call, _ int) *apiError {
	var req map[string]json.RawMessage
	if !readJSON(c, &req) || len(req) != 1 {
		return cinderErr(400, "There is no such action: %v", keysOf(req))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.volumeByID(c.r.PathValue("id"))
	if v == nil {
		return volumeNotFound(c.r.PathValue("id"))
	}
	raw, ok := req["os-set_bootable"]
	if !ok {
		return cinderErr(400, "There is no such action: %s", keysOf(req)[0])
	}
	var b struct {
		Bootable any `json:"bootable"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return cinderErr(400, "Invalid input for field/attribute os-set_bootable. Value: %s.", raw)
	}
	switch x := b.Bootable.(type) {
	case bool:
		v.Bootable = x
	case string:
		bv, err := strconv.ParseBool(x)
		if err != nil {
			return cinderErr(400, "Invalid input for field/attribute bootable. Value: %s. '%s' is not one of the allowed boolean values", x, x)
		}
		v.Bootable = bv
	default:
		return cinderErr(400, "Invalid input for field/attribute os-set_bootable. Value: %s. 'bootable' is a required property", raw)
	}
	v.Updated = s.now().UTC().Truncate(time.Second)
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(200)
	return nil
}

func keysOf(m map[string]json.RawMessage) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = append(out, "")
	}
	return out
}

// volStep is one asynchronous step of a volume.
type volStep struct {
	delay time.Duration
	apply func(*volume)
}

// volumeSteps arms steps on v, superseding any in flight. Caller holds s.mu.
func (s *Sim) volumeSteps(v *volume, steps []volStep) {
	v.gen++
	s.stopVolumeTimer(v)
	s.armVolumeStep(v, v.gen, steps, 0)
}

func (s *Sim) armVolumeStep(v *volume, gen int, steps []volStep, i int) {
	if s.closed || i >= len(steps) {
		return
	}
	st := steps[i]
	s.armTimer(&v.timer, st.delay, func() bool { return v.gen == gen }, func() {
		st.apply(v)
		v.Updated = s.now().UTC().Truncate(time.Second)
		s.log.Info("cloudsim volume", "volume", v.ID, "status", v.Status)
		s.armVolumeStep(v, gen, steps, i+1)
	})
}

func (s *Sim) stopVolumeTimer(v *volume) {
	if v.timer != nil && v.timer.Stop() {
		s.wg.Done()
	}
	v.timer = nil
}

// blockDevice is one block_device_mapping_v2 entry of a server create.
type blockDevice struct {
	UUID                string `json:"uuid"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	BootIndex           any    `json:"boot_index"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

// bootVolume checks a server create's block devices the way Nova does
// before accepting it: the boot volume (source and destination volume,
// boot index 0) must exist, be bootable and be available to reserve.
// Other mappings are refused: the sim models boot from an existing volume
// only. Caller holds s.mu.
func (s *Sim) bootVolume(bdms []blockDevice) (*volume, bool, *apiError) {
	if len(bdms) == 0 {
		return nil, false, nil
	}
	if len(bdms) > 1 {
		return nil, false, novaErr(400, "Block Device Mapping is Invalid: cloudsim boots from one volume only.")
	}
	b := bdms[0]
	if b.SourceType != "volume" || b.DestinationType != "volume" || fmt.Sprint(b.BootIndex) != "0" {
		return nil, false, novaErr(400, "Block Device Mapping is Invalid: cloudsim models only source_type volume, destination_type volume, boot_index 0.")
	}
	v := s.st.volumeByID(b.UUID)
	if v == nil {
		return nil, false, novaErr(400, "Block Device Mapping is Invalid: failed to get volume %s.", b.UUID)
	}
	if !v.Bootable {
		return nil, false, novaErr(400, "Block Device %s is not bootable.", v.ID)
	}
	if v.Status != volAvailable {
		return nil, false, novaErr(400, "Invalid volume: Invalid input received: Invalid volume: Volume %s status must be available or downloading to reserve, but the current status is %s. (HTTP 400) (Request-ID: %s)", v.ID, v.Status, requestID())
	}
	return v, b.DeleteOnTermination, nil
}

// attachBootVolume reserves v for server srv now and attaches it over the
// server's build: reserved (at the API), attaching, in-use — the sequence
// polling the real Cinder sees while Nova builds the server. Caller holds
// s.mu.
func (s *Sim) attachBootVolume(v *volume, srv *server, deleteOnTermination bool) {
	s.setVolumeStatus(v, volReserved)
	v.deleteWithServer = deleteOnTermination
	v.Updated = s.now().UTC().Truncate(time.Second)
	srv.Volumes = append(srv.Volumes, serverVolume{ID: v.ID, DeleteOnTermination: deleteOnTermination})
	d := s.opts.TransitionDelay
	// The server's build takes steps of d (scheduling, None, networking,
	// spawning, ACTIVE); the volume is attached by the time it spawns.
	s.volumeSteps(v, []volStep{
		{2 * d, func(v *volume) { s.setVolumeStatus(v, volAttaching) }},
		{d, func(v *volume) {
			s.setVolumeStatus(v, volInUse)
			v.Attachment = &volAttachment{ID: uuid(), ServerID: srv.ID, Device: "/dev/sda", AttachedAt: s.now().UTC().Truncate(time.Second)}
		}},
	})
}

// releaseServerVolumes detaches the volumes of a deleted server: available
// again, or deleted with it (delete_on_termination). Caller holds s.mu.
func (s *Sim) releaseServerVolumes(srv *server) {
	for _, sv := range srv.Volumes {
		v := s.st.volumeByID(sv.ID)
		if v == nil {
			continue
		}
		v.gen++
		s.stopVolumeTimer(v)
		v.Attachment = nil
		s.setVolumeStatus(v, volAvailable)
		v.Updated = s.now().UTC().Truncate(time.Second)
		if sv.DeleteOnTermination {
			vol := v
			s.volumeSteps(vol, []volStep{{s.opts.TransitionDelay, func(v *volume) { s.deleteVolume(v) }}})
		}
	}
}

func (st *state) volumeByID(id string) *volume {
	for _, v := range st.volumes {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (st *state) volumeTypeByID(id string) *volumeType {
	for _, vt := range st.volumeTypes {
		if vt.ID == id {
			return vt
		}
	}
	return nil
}

func (st *state) volumeTypeByName(name string) *volumeType {
	for _, vt := range st.volumeTypes {
		if vt.Name == name {
			return vt
		}
	}
	return nil
}

func deleteByID(vs []*volume, id string) []*volume {
	for i, v := range vs {
		if v.ID == id {
			return append(vs[:i], vs[i+1:]...)
		}
	}
	return vs
}
