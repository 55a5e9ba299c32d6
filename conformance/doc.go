// Package conformance holds a test suite, parameterised by cloud, that drives
// gophercloud through every call quintupleo makes (auth and token reuse,
// paginated and changes-since listings, show, create with a pre-created port,
// every power and rescue action, metadata, ports, flavors, images, the 404 and
// 409 cases) and records normalized responses: status codes, key sets with
// JSON types, and the state sequence of each transition (timings dropped).
//
// Against a real cloud (QUINTUPLEO_CLOUD=NAME, a clouds.yaml entry) it writes
// the record to testdata/NAME/; against the embedded cloudsim (the default) it
// compares with testdata/realcloud/, the record of a real Nova. See
// docs/realcloud.md and docs/cloudsim.md ("Divergences from real Nova").
//
// The package has no non-test code.
package conformance
