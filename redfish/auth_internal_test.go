package redfish

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestBasicVerificationCache: a password bcrypt accepted is remembered
// for its account only, and nothing else is let through by it: a wrong
// password, another account with the same password, an unknown user.
func TestBasicVerificationCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	var file []byte
	for _, user := range []string{"ironic", "other"} {
		hash, err := bcrypt.GenerateFromPassword([]byte(user+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file = append(file, user+":"+string(hash)+"\n"...)
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAccounts(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.check("ironic", "ironic-pw"); !ok {
		t.Fatal("the right password refused")
	}
	if !a.wasVerified("ironic", a.mac("ironic-pw")) || len(a.verified) != 1 {
		t.Fatalf("after one verification the cache holds %d entries", len(a.verified))
	}
	for _, c := range [][2]string{{"ironic", "wrong"}, {"ironic", "ironic-pw "}, {"other", "ironic-pw"}, {"nobody", "ironic-pw"}} {
		if _, ok := a.check(c[0], c[1]); ok {
			t.Errorf("%s with %q accepted", c[0], c[1])
		}
	}
	if _, ok := a.check("ironic", "ironic-pw"); !ok {
		t.Error("the right password refused from the cache")
	}
	if len(a.verified) != 1 {
		t.Errorf("failed checks added entries: %d", len(a.verified))
	}
}
