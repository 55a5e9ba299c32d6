package cloudsim_test

import (
	"crypto/sha512"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"quintupleo/cloudsim"
)

// TestWebDownloadImport imports an image from a URL as Glance's
// web-download does: the checks of its import call (in its order and with
// its messages), the import filter, then the download itself, which makes
// the image active with the data's size and hash, or queued again with the
// failed store named.
func TestWebDownloadImport(t *testing.T) {
	data := strings.Repeat("CD001", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/boot.iso" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(data))
	}))
	t.Cleanup(srv.Close)
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	sim := testSim(t, cloudsim.Options{ImportAllowedHosts: []string{"127.0.0.1"}, ImportAllowedPorts: []int{port}})
	c := connect(t, sim)
	ctx := t.Context()

	info, err := imageimport.Get(ctx, c.image).Extract()
	if err != nil || !strings.Contains(strings.Join(info.ImportMethods.Value, ","), "web-download") {
		t.Fatalf("import info %+v, %v", info, err)
	}
	create := func(diskFormat string) string {
		im, err := images.Create(ctx, c.image, images.CreateOpts{Name: "iso", DiskFormat: diskFormat, ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		return im.ID
	}
	importURI := func(id, uri string) error {
		return imageimport.Create(ctx, c.image, id, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: uri}).ExtractErr()
	}
	waitImage := func(id, status string) *images.Image {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			im, err := images.Get(ctx, c.image, id).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if string(im.Status) == status {
				return im
			}
			if time.Now().After(deadline) {
				t.Fatalf("image %s is %s, never %s", id, im.Status, status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	id := create("iso")
	if err := importURI(id, srv.URL+"/boot.iso"); err != nil {
		t.Fatal(err)
	}
	im := waitImage(id, "active")
	sum := sha512.Sum512([]byte(data))
	if im.SizeBytes != int64(len(data)) || im.Properties["os_hash_value"] != hex.EncodeToString(sum[:]) {
		t.Errorf("imported image: size %d, properties %v", im.SizeBytes, im.Properties)
	}
	if err := importURI(id, srv.URL+"/boot.iso"); statusOf(err) != 409 || !strings.Contains(err.Error(), "Image with status active cannot be target for import") {
		t.Errorf("import into an active image: %v", err)
	}

	missing := create("iso")
	if err := importURI(missing, srv.URL+"/no-such.iso"); err != nil {
		t.Fatal(err)
	}
	im = waitImage(missing, "queued")
	if im.Properties["os_glance_failed_import"] != "fs" {
		t.Errorf("after a failed download: %v", im.Properties)
	}

	noFormat := create("")
	if err := importURI(noFormat, srv.URL+"/boot.iso"); statusOf(err) != 409 || !strings.Contains(err.Error(), "'disk_format' needs to be set before import") {
		t.Errorf("import without disk_format: %v", err)
	}
	for _, uri := range []string{"ftp://127.0.0.1/boot.iso", "http://127.0.0.1:1/boot.iso", "http://10.0.0.1:8080/boot.iso"} {
		if err := importURI(create("iso"), uri); statusOf(err) != 400 || !strings.Contains(err.Error(), "does not pass filtering") {
			t.Errorf("import of %s: %v", uri, err)
		}
	}
}

// TestWebDownloadDefaultFilter: without allowed hosts, Glance refuses a
// loopback address, and an explicit port other than 80 or 443.
func TestWebDownloadDefaultFilter(t *testing.T) {
	sim := testSim(t, cloudsim.Options{})
	c := connect(t, sim)
	ctx := t.Context()
	for _, uri := range []string{"http://127.0.0.1/boot.iso", "http://[::1]/boot.iso", "http://169.254.169.254/latest", "https://192.0.2.1:8443/boot.iso"} {
		im, err := images.Create(ctx, c.image, images.CreateOpts{Name: "iso", DiskFormat: "iso", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		err = imageimport.Create(ctx, c.image, im.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: uri}).ExtractErr()
		if statusOf(err) != 400 {
			t.Errorf("import of %s: %v, want Glance's 400", uri, err)
		}
	}
}
