package virt

import "testing"

func TestUUIDRoundTrip(t *testing.T) {
	const canonical = "6695eb01-f6a4-8304-79aa-97f2502e193f"
	for _, in := range []string{canonical, "6695EB01F6A4830479AA97F2502E193F", " 66 95 eb 01-f6a4-8304-79aa-97f2502e193f "} {
		u, ok := ParseUUID(in)
		if !ok || u.String() != canonical {
			t.Errorf("ParseUUID(%q) = %s, %v", in, u, ok)
		}
	}
	for _, in := range []string{"", "6695eb01", "6695eb01-f6a4-8304-79aa-97f2502e193f00", "6695eb0-1f6a4-8304-79aa-97f2502e193f", "zz95eb01-f6a4-8304-79aa-97f2502e193f"} {
		if u, ok := ParseUUID(in); ok {
			t.Errorf("ParseUUID(%q) accepted: %s", in, u)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{NoSupport(FromNetwork, "virConnectNumOfNetworks"), "this function is not supported by the connection driver: virConnectNumOfNetworks"},
		{NoName(FromDom), "missing name information"},
		{RPC(FromRPC, "unknown procedure: 9999", nil), "unknown procedure: 9999"},
		{Internal(FromRPC, "", nil), "internal error"},
	} {
		if got := tc.err.Message(); got != tc.want {
			t.Errorf("Message() = %q, want %q", got, tc.want)
		}
	}
}
