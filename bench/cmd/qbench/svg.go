package main

// A line plot written as SVG by hand: the curves of docs/benchmarks.md are
// two or three series of a handful of points each, and a plotting module
// (gonum/plot pulls in gonum, a font stack and image encoders) would be a
// large dependency of the module for that. The file is plain text, so a
// rerun shows in review as a diff of numbers.

import (
	"fmt"
	"math"
	"os"
	"strings"
)

type point struct{ x, y float64 }

type series struct {
	label string
	pts   []point
	color int  // index into svgColors; series of one colour belong together
	dash  bool // a bound or reference line rather than a measurement
}

type plot struct {
	title, xLabel, yLabel string
	logX, logY            bool
	series                []series
}

const (
	svgW, svgH                         = 640, 400 // the plot area; the legend goes below it
	padLeft, padRight, padTop, padBott = 70, 20, 40, 60
)

var svgColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

// axis maps data values to pixels, linearly or logarithmically.
type axis struct {
	lo, hi   float64 // data range (log10 of it when log)
	log      bool
	p0, p1   float64 // pixel range
	ticks    []float64
	tickText []string
}

func newAxis(vals []float64, log bool, p0, p1 float64) axis {
	a := axis{log: log, p0: p0, p1: p1}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if log && v <= 0 {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if log {
		a.lo, a.hi = math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if a.hi == a.lo {
			a.hi++
		}
		for e := a.lo; e <= a.hi; e++ {
			a.ticks = append(a.ticks, math.Pow(10, e))
			a.tickText = append(a.tickText, fmtTick(math.Pow(10, e)))
		}
		return a
	}
	lo = math.Min(lo, 0)
	step := niceStep((hi - lo) / 5)
	a.lo, a.hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	if a.hi == a.lo {
		a.hi = a.lo + step
	}
	for v := a.lo; v <= a.hi+step/2; v += step {
		a.ticks = append(a.ticks, v)
		a.tickText = append(a.tickText, fmtTick(v))
	}
	return a
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%gk", v/1000)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func (a axis) pix(v float64) float64 {
	if a.log {
		v = math.Log10(math.Max(v, math.Pow(10, a.lo)))
	}
	return a.p0 + (v-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// svg renders the plot; points with a non-positive value on a log axis
// are drawn on the axis' lowest tick.
func (pl plot) svg() string {
	var xs, ys []float64
	for _, s := range pl.series {
		for _, p := range s.pts {
			xs, ys = append(xs, p.x), append(ys, p.y)
		}
	}
	ax := newAxis(xs, pl.logX, padLeft, svgW-padRight)
	ay := newAxis(ys, pl.logY, svgH-padBott, padTop)
	var b strings.Builder
	h := svgH + 18*len(pl.series)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, h, svgW, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="14">%s</text>`+"\n", svgW/2, esc(pl.title))
	for i, v := range ax.ticks {
		x := ax.pix(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, padTop, x, svgH-padBott)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, svgH-padBott+16, ax.tickText[i])
	}
	for i, v := range ay.ticks {
		y := ay.pix(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padLeft, y, svgW-padRight, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y+4, ay.tickText[i])
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", padLeft, padTop, svgW-padLeft-padRight, svgH-padTop-padBott)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (padLeft+svgW-padRight)/2, svgH-20, esc(pl.xLabel))
	fmt.Fprintf(&b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>`+"\n", (padTop+svgH-padBott)/2, (padTop+svgH-padBott)/2, esc(pl.yLabel))
	for i, s := range pl.series {
		c := svgColors[s.color%len(svgColors)]
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		for _, p := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", ax.pix(p.x), ay.pix(p.y)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), c, dash)
		if !s.dash {
			for _, p := range s.pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %g, %g</title></circle>`+"\n", ax.pix(p.x), ay.pix(p.y), c, esc(s.label), p.x, p.y)
			}
		}
		ly := svgH + 4 + 18*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", padLeft, ly-4, padLeft+24, ly-4, c, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", padLeft+30, ly, esc(s.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// writePlot writes the plot to path; an empty path writes nothing.
func writePlot(path string, pl plot) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(pl.svg()), 0o644); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	return nil
}
