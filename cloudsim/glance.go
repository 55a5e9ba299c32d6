package cloudsim

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

const glanceTime = "2006-01-02T15:04:05Z"

func (s *Sim) imageView(im *image) map[string]any {
	m := map[string]any{
		"checksum": nullStr(im.Checksum), "container_format": nullStr(im.ContainerFormat),
		"created_at": im.Created.Format(glanceTime), "disk_format": nullStr(im.DiskFormat),
		"file": "/v2/images/" + im.ID + "/file", "id": im.ID, "min_disk": 0, "min_ram": 0, "name": nullStr(im.Name),
		"os_hash_algo": nil, "os_hash_value": nil, "os_hidden": false, "owner": s.st.projectID,
		"protected": false, "schema": "/v2/schemas/image", "self": "/v2/images/" + im.ID, "size": nil,
		"status": im.Status, "tags": []any{}, "updated_at": im.Updated.Format(glanceTime),
		"virtual_size": nil, "visibility": im.Visibility,
	}
	if im.Status == "active" {
		m["os_hash_algo"], m["os_hash_value"], m["size"], m["virtual_size"] = "sha512", im.HashValue, im.Size, im.Size
		m["stores"] = "fs"
	}
	for k, v := range im.Props {
		m[k] = v
	}
	return m
}

// handleImageVersions is Glance's unversioned root (the image catalog URL):
// 300 Multiple Choices with every version, all served under /v2/. The list is
// Glance Zed's, newest first: v2.15 is CURRENT, there is no v2.14, v2.13 down
// to v2.0 are SUPPORTED.
func (s *Sim) handleImageVersions(c *call) *apiError {
	ids := []string{"v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.7",
		"v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"}
	self := []any{map[string]any{"href": c.root + ImagePath + "/v2/", "rel": "self"}}
	vs := make([]any, len(ids))
	for i, id := range ids {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		vs[i] = map[string]any{"id": id, "status": status, "links": self}
	}
	writeJSON(c.w, 300, map[string]any{"versions": vs})
	return nil
}

// handleImagesList is GET /v2/images with name/status/visibility filters and
// limit/marker paging ("next" link as Glance gives it).
func (s *Sim) handleImagesList(c *call) *apiError {
	q := c.r.URL.Query()
	limit := 25
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return glanceErr(400, "limit param must be an integer")
		}
		limit = min(n, 1000)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	marker := q.Get("marker")
	if marker != "" && s.st.imageByID(marker) == nil {
		return glanceErr(400, fmt.Sprintf("Invalid marker. Image %s could not be found.", marker))
	}
	started := marker == ""
	out := []any{}
	var last string
	// Glance sorts by created_at desc; ours are in creation order.
	for i := len(s.st.images) - 1; i >= 0; i-- {
		im := s.st.images[i]
		if !started {
			started = im.ID == marker
			continue
		}
		if n := q.Get("name"); n != "" && im.Name != n {
			continue
		}
		if st := q.Get("status"); st != "" && im.Status != st {
			continue
		}
		if vis := q.Get("visibility"); vis != "" && vis != "all" && im.Visibility != vis {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, s.imageView(im))
		last = im.ID
	}
	body := map[string]any{"images": out, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if limit > 0 && len(out) == limit {
		q.Set("marker", last)
		body["next"] = "/v2/images?" + q.Encode()
	}
	writeJSON(c.w, 200, body)
	return nil
}

func (s *Sim) handleImageShow(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.st.imageByID(c.r.PathValue("id"))
	if im == nil {
		return glanceErr(404, "No image found with ID "+c.r.PathValue("id"))
	}
	writeJSON(c.w, 200, s.imageView(im))
	return nil
}

// handleImageCreate is POST /v2/images: a queued image; extra string keys
// become properties (hw_firmware_type, …).
func (s *Sim) handleImageCreate(c *call) *apiError {
	var req map[string]any
	if !readJSON(c, &req) {
		return glanceErr(400, "Malformed JSON in request body.")
	}
	im := &image{Status: "queued", Props: map[string]string{}, Visibility: "shared"}
	for k, v := range req {
		str, _ := v.(string)
		switch k {
		case "name":
			im.Name = str
		case "id":
			im.ID = str
		case "disk_format":
			im.DiskFormat = str
		case "container_format":
			im.ContainerFormat = str
		case "visibility":
			im.Visibility = str
		case "tags", "protected", "min_disk", "min_ram", "os_hidden":
		default:
			if _, ok := v.(string); !ok {
				return glanceErr(400, fmt.Sprintf("Provided object does not match schema 'image': %v is not of type 'string'", v))
			}
			im.Props[k] = str
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if im.ID != "" && s.st.imageByID(im.ID) != nil {
		return glanceErr(409, "Image with identifier "+im.ID+" already exists!")
	}
	s.st.addImage(im, s.now())
	writeJSON(c.w, 201, s.imageView(im))
	return nil
}

// handleImageUpload is PUT /v2/images/{id}/file: the image becomes active.
func (s *Sim) handleImageUpload(c *call) *apiError {
	n, err := io.Copy(io.Discard, io.LimitReader(c.r.Body, 64<<20))
	if err != nil {
		return glanceErr(400, "upload failed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.st.imageByID(c.r.PathValue("id"))
	if im == nil {
		return glanceErr(404, "No image found with ID "+c.r.PathValue("id"))
	}
	if im.Status != "queued" {
		return glanceErr(409, "Image status transition from "+im.Status+" to saving is not allowed")
	}
	im.Status, im.Size = "active", n
	im.Updated = s.now().UTC().Truncate(time.Second)
	sum := fmt.Sprintf("%032x", n)
	im.Checksum, im.HashValue = sum, sum+sum+sum+sum
	c.w.WriteHeader(204)
	return nil
}

func (s *Sim) handleImageDelete(c *call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	if s.st.imageByID(id) == nil {
		return glanceErr(404, "No image found with ID "+id)
	}
	s.st.images = slices.DeleteFunc(s.st.images, func(im *image) bool { return im.ID == id })
	c.w.WriteHeader(204)
	return nil
}

// The store the sim's Glance keeps images in: Zed with enabled_backends =
// fs:file (the real-cloud tier's configuration), so an import reports its
// progress in os_glance_importing_to_stores / os_glance_failed_import.
const glanceStore = "fs"

// Glance's web-download filtering defaults ([import_filtering_opts]):
// http and https, an explicit port only 80 or 443, no loopback or link-local
// address unless the host is allowed.
var defaultImportPorts = []int{80, 443}

// handleImportInfo is GET /v2/info/import: the import methods Glance has
// enabled (its default enabled_import_methods).
func (s *Sim) handleImportInfo(c *call) *apiError {
	writeJSON(c.w, 200, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array",
		"value": []string{"glance-direct", "web-download", "copy-image"},
	}})
	return nil
}

// handleImageImport is POST /v2/images/{id}/import with the web-download
// method, checked as Glance's import_image does (in its order, with its
// messages): the image must be queued with both formats set, the URI must
// pass the import filter. Then 202 (the image still queued, locked by the
// task's os_glance_import_task), and the sim itself downloads the URI, as
// Glance's task does: the image is importing, then active with the data's
// size and checksums, or, when the download fails, queued again with the
// store in os_glance_failed_import (as the real-cloud tier's Glance does,
// docs/redfish.md).
func (s *Sim) handleImageImport(c *call) *apiError {
	var req struct {
		Method *struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"method"`
	}
	if !readJSON(c, &req) {
		return glanceErr(400, "Malformed JSON in request body.")
	}
	switch {
	case req.Method == nil:
		return glanceErr(400, "Import request requires a 'method' field.")
	case req.Method.Name == "":
		return glanceErr(400, "Import request requires a 'name' field.")
	case req.Method.Name != "web-download":
		// glance-direct and copy-image are enabled in Glance but not modelled.
		return glanceErr(400, fmt.Sprintf("Unknown import method name '%s'.", req.Method.Name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.r.PathValue("id")
	im := s.st.imageByID(id)
	switch {
	case im == nil:
		return glanceErr(404, "No image found with ID "+id)
	case im.Status == "active":
		return glanceErr(409, "Image with status active cannot be target for import")
	case im.Status != "queued":
		return glanceErr(409, "Image needs to be in 'queued' state to use 'web-download' method")
	case im.ContainerFormat == "":
		return glanceErr(409, "'container_format' needs to be set before import")
	case im.DiskFormat == "":
		return glanceErr(409, "'disk_format' needs to be set before import")
	}
	if !s.importURIAllowed(req.Method.URI) {
		return glanceErr(400, "URI for web-download does not pass filtering: "+req.Method.URI)
	}
	if s.closed {
		return glanceErr(503, "The server is shutting down.")
	}
	// As real Glance: the 202 leaves the image queued with the task's
	// lock; the task then marks it importing.
	task := uuid()
	im.Props["os_glance_import_task"] = task
	im.Updated = s.now().UTC().Truncate(time.Second)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.webDownload(id, task, req.Method.URI)
	}()
	c.w.WriteHeader(202)
	return nil
}

// importURIAllowed applies Glance's import filter with its defaults, but
// for the hosts and ports Options.ImportAllowedHosts / ImportAllowedPorts
// allow (as a deployment's allowed_hosts / allowed_ports would).
func (s *Sim) importURIAllowed(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false
	}
	allowedHost := slices.Contains(s.opts.ImportAllowedHosts, u.Hostname())
	if len(s.opts.ImportAllowedHosts) > 0 && !allowedHost {
		return false
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		ports := s.opts.ImportAllowedPorts
		if len(ports) == 0 {
			ports = defaultImportPorts
		}
		if err != nil || !slices.Contains(ports, port) {
			return false
		}
	}
	if allowedHost {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil {
		ips, err := net.LookupIP(u.Hostname())
		if err != nil || len(ips) == 0 {
			return false
		}
		ip = ips[0]
	}
	return !ip.IsLoopback() && !ip.IsLinkLocalUnicast()
}

// webDownload is Glance's web-download task: GET the URI, store the data
// (counted, not kept), and finish the import. A Content-Length the data does
// not match fails the task, as Glance's does.
func (s *Sim) webDownload(id, task, uri string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.mu.Lock()
	if im := s.st.imageByID(id); im != nil && im.Props["os_glance_import_task"] == task {
		im.Status = "importing"
		im.Props["os_glance_importing_to_stores"] = glanceStore
		im.Props["os_glance_failed_import"] = ""
	}
	s.mu.Unlock()
	size, sum, err := download(ctx, uri)
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.st.imageByID(id)
	if im == nil || im.Props["os_glance_import_task"] != task {
		return // deleted meanwhile
	}
	delete(im.Props, "os_glance_import_task")
	im.Props["os_glance_importing_to_stores"] = ""
	im.Updated = s.now().UTC().Truncate(time.Second)
	if err != nil {
		s.log.Info("cloudsim: web-download failed", "image", id, "uri", uri, "err", err)
		im.Status = "queued"
		im.Props["os_glance_failed_import"] = glanceStore
		return
	}
	im.Status, im.Size = "active", size
	im.Checksum, im.HashValue = sum.md5, sum.sha512
}

// digests are Glance's two checksums of an image's data.
type digests struct{ md5, sha512 string }

// download reads uri to its end: its size and checksums.
func download(ctx context.Context, uri string) (int64, digests, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return 0, digests{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, digests{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, digests{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	h5, h512 := md5.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h5, h512), resp.Body)
	if err != nil {
		return n, digests{}, err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, digests{}, fmt.Errorf("downloaded data size %d is different from expected %d", n, resp.ContentLength)
	}
	return n, digests{hex.EncodeToString(h5.Sum(nil)), hex.EncodeToString(h512.Sum(nil))}, nil
}
