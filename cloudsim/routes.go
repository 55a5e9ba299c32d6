package cloudsim

import "net/http"

// route is one row of the route table.
type route struct {
	pattern string // method-pattern for http.ServeMux
	h       handlerFunc
	auth    bool // needs a valid X-Auth-Token
	compute bool // Nova: microversion headers
}

// routeTable is every endpoint the sim serves (built per Sim: no package
// state).
func (s *Sim) routeTable() []route {
	C := ComputePath
	N := NetworkPath + "/v2.0"
	I := ImagePath + "/v2"
	V := VolumePath + "/v3/{project}"
	return []route{
		// Keystone
		{pattern: "GET /{$}", h: s.handleRootVersions},
		{pattern: "GET " + IdentityPath, h: s.handleIdentityVersion},
		{pattern: "GET " + IdentityPath + "/{$}", h: s.handleIdentityVersion},
		{pattern: "POST " + IdentityPath + "/auth/tokens", h: s.handleAuthTokens},
		{pattern: "GET " + IdentityPath + "/auth/tokens", h: s.handleTokenGet, auth: true},
		{pattern: "HEAD " + IdentityPath + "/auth/tokens", h: s.handleTokenGet, auth: true},
		{pattern: "DELETE " + IdentityPath + "/auth/tokens", h: s.handleTokenDelete, auth: true},

		// Nova
		{pattern: "GET " + computeRoot, h: s.handleComputeVersions},
		{pattern: "GET " + computeRoot + "/{$}", h: s.handleComputeVersions},
		{pattern: "GET " + C, h: s.handleComputeVersion, compute: true},
		{pattern: "GET " + C + "/{$}", h: s.handleComputeVersion, compute: true},
		{pattern: "GET " + C + "/servers", h: s.handleServersList(false), auth: true, compute: true},
		{pattern: "GET " + C + "/servers/detail", h: s.handleServersList(true), auth: true, compute: true},
		{pattern: "POST " + C + "/servers", h: s.handleServerCreate, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}", h: s.handleServerShow, auth: true, compute: true},
		{pattern: "PUT " + C + "/servers/{id}", h: s.handleServerUpdate, auth: true, compute: true},
		{pattern: "DELETE " + C + "/servers/{id}", h: s.handleServerDelete, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/tags", h: s.handleTagsList, auth: true, compute: true},
		{pattern: "PUT " + C + "/servers/{id}/tags", h: s.handleTagsReplace, auth: true, compute: true},
		{pattern: "DELETE " + C + "/servers/{id}/tags", h: s.handleTagsDeleteAll, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/tags/{tag}", h: s.handleTagCheck, auth: true, compute: true},
		{pattern: "PUT " + C + "/servers/{id}/tags/{tag}", h: s.handleTagAdd, auth: true, compute: true},
		{pattern: "DELETE " + C + "/servers/{id}/tags/{tag}", h: s.handleTagDelete, auth: true, compute: true},
		{pattern: "POST " + C + "/servers/{id}/action", h: s.handleAction, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/metadata", h: s.handleMetadataList, auth: true, compute: true},
		{pattern: "POST " + C + "/servers/{id}/metadata", h: s.handleMetadataWrite(false), auth: true, compute: true},
		{pattern: "PUT " + C + "/servers/{id}/metadata", h: s.handleMetadataWrite(true), auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/metadata/{key}", h: s.handleMetaItemGet, auth: true, compute: true},
		{pattern: "PUT " + C + "/servers/{id}/metadata/{key}", h: s.handleMetaItemPut, auth: true, compute: true},
		{pattern: "DELETE " + C + "/servers/{id}/metadata/{key}", h: s.handleMetaItemDelete, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/ips", h: s.handleServerIPs, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/os-interface", h: s.handleInterfaces, auth: true, compute: true},
		{pattern: "GET " + C + "/servers/{id}/diagnostics", h: s.handleDiagnostics, auth: true, compute: true},
		{pattern: "GET " + C + "/flavors", h: s.handleFlavorsList(false), auth: true, compute: true},
		{pattern: "GET " + C + "/flavors/detail", h: s.handleFlavorsList(true), auth: true, compute: true},
		{pattern: "GET " + C + "/flavors/{id}", h: s.handleFlavorShow, auth: true, compute: true},
		{pattern: "GET " + C + "/flavors/{id}/os-extra_specs", h: s.handleFlavorExtraSpecs, auth: true, compute: true},

		// Neutron
		{pattern: "GET " + NetworkPath, h: s.handleNeutronVersions},
		{pattern: "GET " + NetworkPath + "/{$}", h: s.handleNeutronVersions},
		{pattern: "GET " + N + "/networks", h: s.handleNetworksList, auth: true},
		{pattern: "POST " + N + "/networks", h: s.handleNetworkCreate, auth: true},
		{pattern: "GET " + N + "/networks/{id}", h: s.handleNetworkShow, auth: true},
		{pattern: "PUT " + N + "/networks/{id}", h: s.handleNetworkUpdate, auth: true},
		{pattern: "DELETE " + N + "/networks/{id}", h: s.handleNetworkDelete, auth: true},
		{pattern: "GET " + N + "/subnets", h: s.handleSubnetsList, auth: true},
		{pattern: "POST " + N + "/subnets", h: s.handleSubnetCreate, auth: true},
		{pattern: "GET " + N + "/subnets/{id}", h: s.handleSubnetShow, auth: true},
		{pattern: "DELETE " + N + "/subnets/{id}", h: s.handleSubnetDelete, auth: true},
		{pattern: "GET " + N + "/ports", h: s.handlePortsList, auth: true},
		{pattern: "POST " + N + "/ports", h: s.handlePortCreate, auth: true},
		{pattern: "GET " + N + "/ports/{id}", h: s.handlePortShow, auth: true},
		{pattern: "PUT " + N + "/ports/{id}", h: s.handlePortUpdate, auth: true},
		{pattern: "DELETE " + N + "/ports/{id}", h: s.handlePortDelete, auth: true},

		// Cinder: the unversioned root needs no token, everything under /v3 does.
		{pattern: "GET " + VolumePath, h: s.handleVolumeVersions(300)},
		{pattern: "GET " + VolumePath + "/{$}", h: s.handleVolumeVersions(300)},
		{pattern: "GET " + VolumePath + "/v3", h: s.handleVolumeV3Redirect, auth: true},
		{pattern: "GET " + VolumePath + "/v3/{$}", h: s.handleVolumeVersions(200), auth: true},
		{pattern: "GET " + V, h: s.volumeCall(s.handleVolumeProjectRoot), auth: true},
		{pattern: "GET " + V + "/{$}", h: s.volumeCall(s.handleVolumeProjectRoot), auth: true},
		{pattern: "GET " + V + "/types", h: s.volumeCall(s.handleVolumeTypes), auth: true},
		{pattern: "GET " + V + "/types/{id}", h: s.volumeCall(s.handleVolumeTypeShow), auth: true},
		{pattern: "GET " + V + "/os-quota-sets/{tenant}", h: s.volumeCall(s.handleQuotaShow(false)), auth: true},
		{pattern: "GET " + V + "/os-quota-sets/{tenant}/defaults", h: s.volumeCall(s.handleQuotaShow(true)), auth: true},
		{pattern: "GET " + V + "/volumes", h: s.volumeCall(s.handleVolumesList(false)), auth: true},
		{pattern: "GET " + V + "/volumes/detail", h: s.volumeCall(s.handleVolumesList(true)), auth: true},
		{pattern: "POST " + V + "/volumes", h: s.volumeCall(s.handleVolumeCreate), auth: true},
		{pattern: "GET " + V + "/volumes/{id}", h: s.volumeCall(s.handleVolumeShow), auth: true},
		{pattern: "PUT " + V + "/volumes/{id}", h: s.volumeCall(s.handleVolumeUpdate), auth: true},
		{pattern: "DELETE " + V + "/volumes/{id}", h: s.volumeCall(s.handleVolumeDelete), auth: true},
		{pattern: "POST " + V + "/volumes/{id}/action", h: s.volumeCall(s.handleVolumeAction), auth: true},

		// Glance
		{pattern: "GET " + ImagePath, h: s.handleImageVersions},
		{pattern: "GET " + ImagePath + "/{$}", h: s.handleImageVersions},
		{pattern: "GET " + I + "/images", h: s.handleImagesList, auth: true},
		{pattern: "POST " + I + "/images", h: s.handleImageCreate, auth: true},
		{pattern: "GET " + I + "/images/{id}", h: s.handleImageShow, auth: true},
		{pattern: "DELETE " + I + "/images/{id}", h: s.handleImageDelete, auth: true},
		{pattern: "PUT " + I + "/images/{id}/file", h: s.handleImageUpload, auth: true},
		{pattern: "POST " + I + "/images/{id}/import", h: s.handleImageImport, auth: true},
		{pattern: "GET " + I + "/info/import", h: s.handleImportInfo, auth: true},
	}
}

// routes registers the route table and the admin endpoints.
func (s *Sim) routes() {
	for _, rt := range s.routeTable() {
		s.mux.Handle(rt.pattern, s.adapt(rt))
	}
	s.adminRoutes()
}

// adapt turns a table row into an http.Handler: microversion, request id,
// auth, then the handler; an *apiError answer is written in the service's
// shape.
func (s *Sim) adapt(rt route) http.Handler {
	h := rt.h
	if rt.auth {
		h = s.authed(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer discard(r.Body)
		c := &call{w: w, r: r, root: rootURL(r)}
		rid := requestID()
		w.Header().Set("X-Openstack-Request-Id", rid)
		if rt.compute {
			w.Header().Set("X-Compute-Request-Id", rid)
			mv, err := parseMicroversion(r.Header, s.maxMinor)
			if err != nil {
				setMicroversionHeaders(w.Header(), microversion{minMinor})
				err.write(w)
				return
			}
			c.mv = mv
			setMicroversionHeaders(w.Header(), mv)
		}
		if err := h(c); err != nil {
			err.write(w)
		}
	})
}
