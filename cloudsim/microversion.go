package cloudsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Nova's supported microversion range (Zed); Options.MaxMicroversion may
// lower the maximum, as an older Nova's.
const (
	minMinor = 1
	maxMinor = 93
)

// microversion is a Nova API version 2.minor.
type microversion struct{ minor int }

func (m microversion) String() string { return "2." + strconv.Itoa(m.minor) }

// ge reports whether m >= 2.minor.
func (m microversion) ge(minor int) bool { return m.minor >= minor }

// parseMicroversion reads OpenStack-API-Version ("compute 2.79") or
// X-OpenStack-Nova-API-Version ("2.79"); none means 2.1. top is the newest
// minor version this Nova serves.
func parseMicroversion(h http.Header, top int) (microversion, *apiError) {
	raw := ""
	for _, v := range h.Values("OpenStack-API-Version") {
		for part := range strings.SplitSeq(v, ",") {
			f := strings.Fields(part)
			if len(f) == 2 && strings.EqualFold(f[0], "compute") {
				raw = f[1]
			}
		}
	}
	if raw == "" {
		raw = strings.TrimSpace(h.Get("X-OpenStack-Nova-API-Version"))
	}
	if raw == "" {
		return microversion{minMinor}, nil
	}
	if strings.EqualFold(raw, "latest") {
		return microversion{top}, nil
	}
	maj, min, ok := strings.Cut(raw, ".")
	ma, err1 := strconv.Atoi(maj)
	mi, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return microversion{}, novaErr(400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", raw)
	}
	if ma != 2 || mi < minMinor || mi > top {
		return microversion{}, novaErr(406, "Version %s is not supported by the API. Minimum is 2.%d and maximum is 2.%d.", raw, minMinor, top)
	}
	return microversion{mi}, nil
}

func setMicroversionHeaders(h http.Header, m microversion) {
	h.Set("OpenStack-API-Version", "compute "+m.String())
	h.Set("X-OpenStack-Nova-API-Version", m.String())
	h.Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
}

// requestID is the x-openstack-request-id every service answers with.
func requestID() string { return fmt.Sprintf("req-%s", uuid()) }

// parseMaxMicroversion reads Options.MaxMicroversion ("2.60"; "" = 2.93).
func parseMaxMicroversion(v string) (int, error) {
	if v == "" {
		return maxMinor, nil
	}
	maj, min, ok := strings.Cut(v, ".")
	mi, err := strconv.Atoi(min)
	if !ok || maj != "2" || err != nil || mi < minMinor || mi > maxMinor {
		return 0, fmt.Errorf("cloudsim: MaxMicroversion %q: want 2.%d to 2.%d", v, minMinor, maxMinor)
	}
	return mi, nil
}
