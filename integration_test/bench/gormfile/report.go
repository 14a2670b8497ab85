package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// result is what one case measured on one database.
type result struct {
	c     *benchCase
	db    string
	ours  summary
	bases []named
	refs  []named // measured for reference, not compared
	// paired is the median of the ratios of each repetition's runs, which drifts less
	// than the ratio of the medians when the machine's load changes between runs.
	paired float64
}

// pairedRatio returns the median of ours[i] / base[i].
func pairedRatio(ours, base []measure) float64 {
	var rs []float64
	for i := range min(len(ours), len(base)) {
		rs = append(rs, ours[i].wall.Seconds()/base[i].wall.Seconds())
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if n := len(rs); n%2 == 0 {
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[len(rs)/2]
}

type named struct {
	name string
	s    summary
	runs []measure
}

// baseline returns the fastest of the baseline's ways, by median.
func (r result) baseline() named {
	best := r.bases[0]
	for _, b := range r.bases[1:] {
		if b.s.wall < best.s.wall {
			best = b
		}
	}
	return best
}

func (r result) ratio() float64 {
	return r.ours.wall.Seconds() / r.baseline().s.wall.Seconds()
}

// title names the case with its amount of work.
func (r result) title(sz sizes) string {
	switch r.c.id {
	case "file1g", "pipe1g":
		if sz.big != 1<<30 {
			return strings.Replace(r.c.title, "1 GiB", fmt.Sprintf("%d MiB", sz.big>>20), 1)
		}
		return r.c.title
	case "loop", "delete":
		return fmt.Sprintf("%s %s", count(sz.rows), r.c.title)
	case "batch":
		return fmt.Sprintf("%s %s (batches of %d)", count(sz.rows), r.c.title, sz.batch)
	default:
		return fmt.Sprintf("%s %s", count(sz.load), r.c.title)
	}
}

// count writes n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// printTable writes the results as a Markdown table.
func printTable(w io.Writer, results []result, cfg config, rss uint64) {
	fmt.Fprintf(w, "\nMedians of %d runs per side, alternating; ratio = library / baseline "+
		"(of the medians; paired: the median of each repetition's ratio).\n", cfg.reps)
	fmt.Fprintf(w, "Peak heap: the largest Go heap sampled during a side's runs; peak RSS: "+
		"the process's, during them (the process's overall peak: %s).\n\n", mib(rss))
	fmt.Fprintln(w, "| case | db | this library | baseline | ratio | paired | target | met | "+
		"peak heap (library / baseline) | peak RSS (library / baseline) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		base := r.baseline()
		baseText := fmt.Sprintf("%s %s", base.name, seconds(base.s.wall))
		for _, other := range r.bases {
			if other.name != base.name {
				baseText += fmt.Sprintf(" (%s %s)", other.name, seconds(other.s.wall))
			}
		}
		for _, ref := range r.refs {
			baseText += fmt.Sprintf(" (reference: %s %s)", ref.name, seconds(ref.s.wall))
		}
		met := "no"
		if r.c.met(r.ratio(), r.ours) {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s %s | %s | %.2f | %.2f | %s | %s | %s / %s | %s / %s |\n",
			r.title(cfg.sizes), r.db, r.c.ours.name, seconds(r.ours.wall), baseText, r.ratio(),
			r.paired, r.c.target, met, mib(r.ours.heap), mib(base.s.heap), mib(r.ours.rss),
			mib(base.s.rss))
	}
}
