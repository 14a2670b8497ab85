package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// measure is one timed run of one side of a case.
type measure struct {
	wall time.Duration
	// heap is the largest Go heap (live and not yet collected objects) seen during the
	// run; rss the process's peak resident size during it, 0 when unknown.
	heap, rss uint64
	// dials is the number of connections the S3 client opened during the run.
	dials int64
	// ops sums the run's S3 requests by operation; sql counts its SQL statements.
	ops string
	sql int64
}

// dials counts the connections the S3 client opens: one per request means that the
// client does not reuse its connections.
var dials atomic.Int64

func countDials(tr *http.Transport) {
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
}

// memWatch samples the Go heap while a run lasts.
type memWatch struct {
	stop chan struct{}
	done chan uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// watchMemory collects garbage, returns freed memory to the system, resets the
// process's peak resident size where Linux allows it, and starts sampling the heap
// every millisecond. It collects twice, so that what sync.Pools kept from earlier runs
// (their victim caches survive one collection) does not count against this one.
func watchMemory() *memWatch {
	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM, the peak resident size (Linux 4.0+).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	w := &memWatch{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		s := []metrics.Sample{{Name: heapMetric}}
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-w.stop:
				metrics.Read(s)
				w.done <- max(peak, s[0].Value.Uint64())
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// end stops the sampling and returns the peak heap and peak resident size.
func (w *memWatch) end() (heap, rss uint64) {
	close(w.stop)
	return <-w.done, peakRSS()
}

// peakRSS reads VmHWM from /proc/self/status, in bytes; 0 when it cannot.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// timed runs fn with the memory watched.
func timed(fn func() error) (measure, error) {
	w := watchMemory()
	d0, s0 := dials.Load(), statements.n.Load()
	start := time.Now()
	err := fn()
	wall := time.Since(start)
	heap, rss := w.end()
	return measure{wall: wall, heap: heap, rss: rss, dials: dials.Load() - d0,
		sql: statements.n.Load() - s0}, err
}

// summary is the median time of a side's runs and the largest peaks of all of them.
type summary struct {
	wall      time.Duration
	heap, rss uint64
	n         int
}

func summarize(ms []measure) summary {
	if len(ms) == 0 {
		return summary{}
	}
	walls := make([]time.Duration, len(ms))
	var s summary
	for i, m := range ms {
		walls[i] = m.wall
		s.heap, s.rss = max(s.heap, m.heap), max(s.rss, m.rss)
	}
	slices.Sort(walls)
	if n := len(walls); n%2 == 1 {
		s.wall = walls[n/2]
	} else {
		s.wall = (walls[n/2-1] + walls[n/2]) / 2
	}
	s.n = len(ms)
	return s
}

// seconds formats a duration with a unit that suits it.
func seconds(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}

// mib formats bytes in MiB; "-" for 0.
func mib(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// writeBigFile writes size bytes of incompressible data to a new file in dir: a 1 MiB
// random block written over and over, each copy stamped with its index, so that no two
// parts of an upload are the same.
func writeBigFile(dir string, size int64) (string, error) {
	path := filepath.Join(dir, "big.bin")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	block := make([]byte, 1<<20)
	if _, err := rand.Read(block); err != nil {
		f.Close()
		return "", err
	}
	for off := int64(0); off < size; off += int64(len(block)) {
		binary.LittleEndian.PutUint64(block, uint64(off))
		n := min(int64(len(block)), size-off)
		if _, err := f.Write(block[:n]); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}

// machine describes where the benchmark runs.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range bytes.Lines(b) {
			if k, v, ok := strings.Cut(string(line), ":"); ok &&
				strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s", model, runtime.NumCPU(), runtime.Version(),
		runtime.GOOS, runtime.GOARCH)
}
