package virsh

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestTableMatchesRecordedVirsh(t *testing.T) {
	tests := []struct {
		golden string
		quiet  bool
		header []string
		rows   [][]string
	}{
		{"list-all-long-name.golden", false, []string{"Id", "Name", "State"},
			[][]string{{"-", "a-very-long-domain-name-0", "shut off"}, {"-", "test", "shut off"}}},
		{"list-all-long-name-quiet.golden", true, []string{"Id", "Name", "State"},
			[][]string{{"-", "a-very-long-domain-name-0", "shut off"}, {"-", "test", "shut off"}}},
		{"domiflist.golden", false, []string{"Interface", "Type", "Source", "Model", "MAC"},
			[][]string{{"testnet0", "network", "default", "-", "aa:bb:cc:dd:ee:ff"}}},
	}
	for _, tc := range tests {
		want, err := os.ReadFile(filepath.Join("testdata", "virsh", tc.golden))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		v := &vsh{env: Env{Stdout: &out}, quiet: tc.quiet}
		v.table(tc.header, tc.rows)
		v.extra("\n")
		if out.String() != string(want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.golden, out.String(), want)
		}
	}
}
