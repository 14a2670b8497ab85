// Command gormfile measures the plugin against the raw AWS SDK and plain GORM doing the
// same work, as issue #7 asks: a loopback S3 server (versitygw, started by the test
// harness), SQLite always and PostgreSQL when TEST_POSTGRES_DSN is set.
//
// Each case runs the library's side and the baseline's alternately (ours, baseline,
// ours, baseline, ...) for -reps repetitions and reports the median times, their ratio
// against the target, and the peak memory of each side: the largest Go heap
// sampled every millisecond during the run (runtime/metrics) and the process's peak
// resident size during it (VmHWM, reset before each run).
//
// The baselines use the raw aws-sdk-go-v2 (PutObject, its transfer manager, its presign
// client) and GORM on models with plain string columns, through a *gorm.DB without the
// plugin; where the issue allows two ways (the 1 GiB file), the faster median is the
// baseline. The batch case also shows, for reference, the same overlapped uploads done
// by hand with the SDK. SQLite runs in WAL mode with synchronous=NORMAL; the S3 server
// keeps connections open (-keepalive), as S3 does, where versitygw by default closes
// each one after its response.
//
// The 1 GiB cases write one file of incompressible data in a temporary directory,
// upload it on each run, delete each uploaded object after its run and remove the file
// at the end. Run it from the integration_test module:
//
//	cd integration_test && go run ./bench/gormfile [-reps 3] [-quick] [-only CASE,...]
//		[-ops] [-del-extra N] [-keepalive=false] [-cpuprofile FILE] [-memprofile FILE]
//
// The cases are file1g, pipe1g, loop, batch, find, url-public, url-presigned and
// delete. -ops prints, for each run, its SQL statements and its S3 requests by
// operation with their summed times; -del-extra puts N more rows in the delete case's
// table, as in a table that has lived.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile/integration_test/internal/s3server"
	"github.com/gormfile/gormfile/storage/s3store"
)

// sizes are the amounts of work of the cases.
type sizes struct {
	big   int64 // bytes of the large file
	small int   // bytes of each small file
	rows  int   // rows of the insert and delete cases
	batch int   // CreateInBatches' batch size
	load  int   // rows loaded, and URLs built
}

var (
	fullSizes  = sizes{big: 1 << 30, small: 4 << 10, rows: 1000, batch: 100, load: 10000}
	quickSizes = sizes{big: 128 << 20, small: 4 << 10, rows: 200, batch: 100, load: 2000}
)

func main() {
	reps := flag.Int("reps", 3, "repetitions of each case; the medians are reported")
	quick := flag.Bool("quick", false, "smaller cases: a 128 MiB file, 200 rows, 2,000 loads")
	only := flag.String("only", "", "comma-separated cases to run (default all): "+
		strings.Join(caseIDs(), ", "))
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs")
	memProfile := flag.String("memprofile", "", "write an allocation profile at the end")
	delExtra := flag.Int("del-extra", 0, "rows of other files in the delete case's table, "+
		"beside the rows deleted, as in a table that has lived")
	showOps := flag.Bool("ops", false, "print the SQL statements and the S3 requests of "+
		"each run, these by operation with their summed times")
	keepAlive := flag.Bool("keepalive", true, "let the S3 server keep connections open, "+
		"as S3 does (versitygw closes each one by default)")
	flag.Parse()

	sz := fullSizes
	if *quick {
		sz = quickSizes
	}
	var selected []string
	if *only != "" {
		selected = strings.Split(*only, ",")
		for _, id := range selected {
			if !slices.Contains(caseIDs(), id) {
				fmt.Fprintf(os.Stderr, "gormfile bench: unknown case %q (cases: %s)\n", id,
					strings.Join(caseIDs(), ", "))
				os.Exit(2)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := benchmark(ctx, config{reps: max(*reps, 1), sizes: sz, only: selected,
		cpuProfile: *cpuProfile, memProfile: *memProfile, keepAlive: *keepAlive,
		showOps: *showOps, delExtra: *delExtra})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gormfile bench:", err)
		stop()
		os.Exit(1)
	}
}

type config struct {
	reps                   int
	sizes                  sizes
	only                   []string
	cpuProfile, memProfile string
	keepAlive, showOps     bool
	delExtra               int
}

// bench is what the cases share.
type bench struct {
	ctx     context.Context
	sz      sizes
	work    string // temporary directory
	srv     *s3server.Server
	client  *s3.Client
	tm      *transfermanager.Client
	presign *s3.PresignClient
	bucket  string
	// store is the plugin's default storage; public and signed give the URLs, plain
	// and presigned, under the location "media".
	store, public, signed *s3store.Storage
	bigPath               string
	seq                   int
	// ops times the client's requests; showOps prints them after each run.
	ops     *opsClient
	showOps bool
	// delExtra is the number of other rows in the delete case's table.
	delExtra int

	small       []byte    // the content of each small file
	loaded      []loadRow // the rows whose URLs are built, through each model
	loadedPlain []loadPlain
}

// tag returns a name no earlier run used, for keys and rows.
func (b *bench) tag(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s-%d", prefix, b.seq)
}

func benchmark(ctx context.Context, cfg config) error {
	work, err := os.MkdirTemp("", "gormfile-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	srv, stopServer, err := s3server.StartMainWith(s3server.Options{KeepAlive: cfg.keepAlive})
	if err != nil {
		return fmt.Errorf("starting the S3 server: %w", err)
	}
	defer stopServer()

	b := &bench{ctx: ctx, sz: cfg.sizes, work: work, srv: srv, bucket: "bench",
		showOps: cfg.showOps, delExtra: cfg.delExtra}
	// The SDK's own HTTP client, as an application would have it; the harness's client
	// has a 10 s timeout that a 1 GiB PutObject can exceed.
	b.ops = &opsClient{inner: awshttp.NewBuildableClient().WithTransportOptions(countDials)}
	b.client = s3.New(srv.Client().Options(), func(o *s3.Options) { o.HTTPClient = b.ops })
	b.tm = transfermanager.New(b.client, func(o *transfermanager.Options) {
		o.RequestChecksumCalculation = b.client.Options().RequestChecksumCalculation
	})
	b.presign = s3.NewPresignClient(b.client)
	if _, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b.bucket}); err != nil {
		return fmt.Errorf("creating the bucket: %w", err)
	}
	if b.store, err = s3store.New(b.client, &s3store.Options{Bucket: b.bucket}); err != nil {
		return err
	}
	b.public, err = s3store.New(b.client, &s3store.Options{Bucket: b.bucket, Location: "media"})
	if err != nil {
		return err
	}
	b.signed, err = s3store.New(b.client, &s3store.Options{Bucket: b.bucket,
		Location: "media", QuerystringAuth: true})
	if err != nil {
		return err
	}

	cases := allCases()
	if cfg.only != nil {
		cases = slices.DeleteFunc(cases, func(c *benchCase) bool {
			return !slices.Contains(cfg.only, c.id)
		})
	}
	if slices.ContainsFunc(cases, func(c *benchCase) bool { return c.big }) {
		start := time.Now()
		if b.bigPath, err = writeBigFile(work, b.sz.big); err != nil {
			return fmt.Errorf("writing the large file: %w", err)
		}
		fmt.Printf("wrote %s (%d MiB) in %s\n", b.bigPath, b.sz.big>>20,
			seconds(time.Since(start)))
		defer os.Remove(b.bigPath)
	}

	dbs, err := openDatabases(ctx, b, work)
	defer func() {
		for _, d := range dbs {
			d.close()
		}
	}()
	if err != nil {
		return err
	}

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Printf("machine: %s\n", machine())
	fmt.Printf("command: go run ./bench/gormfile %s\n", strings.Join(os.Args[1:], " "))
	var names []string
	for _, d := range dbs {
		names = append(names, d.name)
	}
	fmt.Printf("databases: %s\n", strings.Join(names, ", "))
	fmt.Printf("S3 server: versitygw at %s, keep-alive %v\n\n", srv.Endpoint, cfg.keepAlive)
	var results []result
	for _, c := range cases {
		for i, d := range dbs {
			if !c.perDB && i > 0 {
				continue
			}
			res, err := b.runCase(c, d, cfg.reps)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", c.id, d.name, err)
			}
			if !c.perDB {
				res.db = "-"
			}
			results = append(results, res)
		}
	}
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if cfg.memProfile != "" {
		if err := writeMemProfile(cfg.memProfile); err != nil {
			return err
		}
	}
	printTable(os.Stdout, results, cfg, peakRSS())
	return nil
}

func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// runCase measures every side of c on d, alternating, reps times.
func (b *bench) runCase(c *benchCase, d *dbEnv, reps int) (result, error) {
	if c.setup != nil {
		if err := c.setup(b, d); err != nil {
			return result{}, fmt.Errorf("setup: %w", err)
		}
	}
	sides := append(append([]side{c.ours}, c.bases...), c.refs...)
	runs := make([][]measure, len(sides))
	for rep := range reps {
		line := fmt.Sprintf("%-13s %-8s rep %d:", c.id, d.name, rep+1)
		for i, s := range sides {
			if err := b.ctx.Err(); err != nil {
				return result{}, err
			}
			m, err := b.runSide(s, d)
			if err != nil {
				return result{}, fmt.Errorf("%s: %w", s.name, err)
			}
			runs[i] = append(runs[i], m)
			line += fmt.Sprintf("  %s %s (heap %s, %d dials)", s.name, seconds(m.wall),
				mib(m.heap), m.dials)
			if b.showOps {
				line += fmt.Sprintf(" [%d SQL; %s]", m.sql, m.ops)
			}
		}
		fmt.Println(line)
	}
	res := result{c: c, db: d.name, ours: summarize(runs[0])}
	for i, s := range c.bases {
		res.bases = append(res.bases, named{s.name, summarize(runs[i+1]), runs[i+1]})
	}
	res.paired = pairedRatio(runs[0], res.baseline().runs)
	for i, s := range c.refs {
		res.refs = append(res.refs, named{s.name, summarize(runs[1+len(c.bases)+i]), nil})
	}
	return res, nil
}

// runSide prepares one run of a side, times it and checks what it did.
func (b *bench) runSide(s side, d *dbEnv) (measure, error) {
	r := &run{b: b, db: d}
	do, after, err := s.start(r)
	if err != nil {
		return measure{}, fmt.Errorf("preparing: %w", err)
	}
	// Each run starts with the earlier runs' writes on disk.
	syscall.Sync()
	b.ops.take()
	m, err := timed(do)
	m.ops = b.ops.take()
	if after != nil {
		if aerr := after(err); aerr != nil && err == nil {
			err = fmt.Errorf("checking: %w", aerr)
		}
	}
	return m, err
}

// run is one run of one side.
type run struct {
	b  *bench
	db *dbEnv
}

func (r *run) ctx() context.Context { return r.b.ctx }

// side is one way of doing a case's work. start prepares a run (not timed) and returns
// the work to time, and a function that checks the result and cleans up (not timed),
// told of the work's error.
type side struct {
	name  string
	start func(r *run) (do func() error, after func(error) error, err error)
}

// dbEnv is one database, reached through a *gorm.DB with the plugin (ours) and one
// without it (plain).
type dbEnv struct {
	name        string
	ours, plain *gorm.DB
	close       func()
}
