package coreutils

import (
	"fmt"
	"slices"
	"testing"
)

// matches.each must list exactly what FindAllStringSubmatchIndex lists,
// anchors, word boundaries, empty matches and multi-byte text included.
func TestEachMatchAgreesWithFindAll(t *testing.T) {
	patterns := []struct {
		pat string
		ere bool
	}{
		{`x`, false}, {`x*`, false}, {`^x`, false}, {`x$`, false}, {`^`, false}, {`$`, false},
		{`\<a`, false}, {`\bb`, false}, {`\Bb`, false}, {`a\|b`, false}, {`\(a\)\(b*\)`, false},
		{`[^ ]*`, false}, {`é`, false}, {`.`, false}, {`(ab|a)(c|bcd)?`, true}, {`a?`, true},
		{`<boot \(dev\|order\)=*\>`, false}, {`\n`, false}, {`^$`, false},
	}
	texts := []string{"", "x", "xx", "xax", "ab abb ba", "a b", "ééxé", "abcd abc", "\n\n", " <boot dev='hd'/>", "aaa"}
	var ms matches
	for _, p := range patterns {
		re, err := compileRegex(p.pat, p.ere, false)
		if err != nil {
			t.Fatalf("%s: %v", p.pat, err)
		}
		for _, s := range texts {
			want := re.FindAllStringSubmatchIndex(s, -1)
			var got [][]int
			ms.each(re, s, func(m []int) bool {
				got = append(got, slices.Clone(m))
				return true
			})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%q on %q: each %v, FindAll %v", p.pat, s, got, want)
			}
		}
	}
}
