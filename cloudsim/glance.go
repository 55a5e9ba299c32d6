package cloudsim

import (
	"fmt"
	"io"
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
