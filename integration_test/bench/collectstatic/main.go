// Command collectstatic measures "gormfile collectstatic" against the raw AWS SDK on a
// loopback S3 server (versitygw, started by the test harness).
//
// It generates a tree of static assets (by default 3,000 files whose sizes are spread
// log-uniformly from 200 B to 256 KiB, about 100 MiB), builds the gormfile command,
// and measures in one run:
//
//   - the raw SDK: the files uploaded with N concurrent PutObject calls;
//   - the command's first run into an empty bucket;
//   - the command's re-run with nothing changed;
//
// each round into fresh buckets, each measure after a sync of the disks (the re-run
// several times), then prints the median times, the command's peak memory and the
// ratios against the targets of issue #5. Run it from the integration_test module:
//
//	cd integration_test && go run ./bench/collectstatic [-files 3000] [-jobs 8] [-rounds 3]
//		[-reruns 5]
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/integration_test/internal/s3server"
	"github.com/gormfile/gormfile/staticfiles"
	"github.com/gormfile/gormfile/storage"
)

func main() {
	files := flag.Int("files", 3000, "the number of files to generate")
	minSize := flag.Int64("min", 200, "the smallest file size, in bytes")
	maxSize := flag.Int64("max", 256<<10, "the largest file size, in bytes")
	jobs := flag.Int("jobs", staticfiles.DefaultJobs, "concurrent uploads, for both tools")
	rounds := flag.Int("rounds", 3, "the rounds of measures; the medians are reported")
	reruns := flag.Int("reruns", 5, "the no-change re-runs per round; the median counts")
	flag.Parse()
	if err := run(*files, *minSize, *maxSize, *jobs, *rounds, *reruns); err != nil {
		fmt.Fprintln(os.Stderr, "collectstatic bench:", err)
		os.Exit(1)
	}
}

func run(n int, minSize, maxSize int64, jobs, rounds, reruns int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "collectstatic-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	src := filepath.Join(work, "static")
	paths, total, err := generate(src, n, minSize, maxSize)
	if err != nil {
		return err
	}
	fmt.Printf("tree: %d files, %.1f MiB, sizes %d B to %d KiB log-uniform\n",
		len(paths), float64(total)/(1<<20), minSize, maxSize>>10)

	bin := filepath.Join(work, "gormfile")
	build := exec.Command("go", "build", "-o", bin, "github.com/gormfile/gormfile/cmd/gormfile")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the command: %w", err)
	}

	srv, stop, err := s3server.StartMain()
	if err != nil {
		return fmt.Errorf("starting the S3 server: %w", err)
	}
	defer stop()
	client := s3.New(srv.Client().Options(), func(o *s3.Options) {
		// The SDK's own HTTP client, as an application would have.
		o.HTTPClient = awshttp.NewBuildableClient()
	})

	cfg := storage.Config(srv.Config(""))
	var raws, firsts, agains []measure
	for round := range rounds {
		rawBucket, cmdBucket := fmt.Sprintf("raw-%d", round), fmt.Sprintf("cmd-%d", round)
		for _, b := range []string{rawBucket, cmdBucket} {
			if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
				return fmt.Errorf("creating bucket %s: %w", b, err)
			}
		}
		// Each measure starts with the server's earlier writes on disk.
		syscall.Sync()
		start := time.Now()
		if err := rawUpload(ctx, client, rawBucket, src, paths, jobs); err != nil {
			return fmt.Errorf("raw SDK: %w", err)
		}
		raws = append(raws, measure{wall: time.Since(start)})

		cfg["AWS_STORAGE_BUCKET_NAME"] = cmdBucket
		js, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		syscall.Sync()
		first, err := runCommand(bin, src, string(js), jobs)
		if err != nil {
			return fmt.Errorf("first run: %w", err)
		}
		syscall.Sync()
		var runs []measure
		for range max(reruns, 1) {
			again, err := runCommand(bin, src, string(js), jobs)
			if err != nil {
				return fmt.Errorf("re-run: %w", err)
			}
			runs = append(runs, again)
		}
		again := median(runs)
		firsts, agains = append(firsts, first), append(agains, again)
		fmt.Printf("round %d: raw %.2f s, first run %.2f s, re-run %.3f s (%s)\n", round+1,
			raws[round].wall.Seconds(), first.wall.Seconds(), again.wall.Seconds(),
			again.summary)
	}

	raw, first, again := median(raws), median(firsts), median(agains)
	fmt.Printf("\nmedian of %d rounds%16s %9s %12s\n", rounds, "", "time", "peak memory")
	fmt.Printf("%-34s %8.2fs %12s\n", fmt.Sprintf("raw SDK, %d concurrent PutObject", jobs),
		raw.wall.Seconds(), "-")
	fmt.Printf("%-34s %8.2fs %9.1f MiB\n", "collectstatic, first run", first.wall.Seconds(),
		first.maxRSS)
	fmt.Printf("%-34s %8.3fs %9.1f MiB\n", "collectstatic, no-change re-run",
		again.wall.Seconds(), again.maxRSS)
	fmt.Printf("\nfirst run / raw SDK: %.2f (target <= 1.20)\n",
		first.wall.Seconds()/raw.wall.Seconds())
	fmt.Printf("no-change re-run: %.3f s (target < 0.25 s)\n", again.wall.Seconds())
	fmt.Printf("peak memory: %.1f MiB (target < 100 MiB)\n", max(first.maxRSS, again.maxRSS))
	return nil
}

// median returns the measure of median time; peak memory is the largest of all.
func median(ms []measure) measure {
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, func(a, b measure) int { return cmp.Compare(a.wall, b.wall) })
	m := sorted[len(sorted)/2]
	for _, x := range ms {
		m.maxRSS = max(m.maxRSS, x.maxRSS)
	}
	return m
}

// generate writes n files of random content under dir, spread over a few directories,
// with sizes log-uniform between minSize and maxSize. It returns their relative paths
// and total size.
func generate(dir string, n int, minSize, maxSize int64) ([]string, int64, error) {
	rng := rand.New(rand.NewPCG(5, 2026))
	exts := []string{".css", ".js", ".svg", ".png", ".woff2", ".json", ".map", ".txt"}
	buf := make([]byte, maxSize)
	var paths []string
	var total int64
	for i := range n {
		size := int64(math.Exp(math.Log(float64(minSize)) +
			rng.Float64()*(math.Log(float64(maxSize))-math.Log(float64(minSize)))))
		rel := filepath.Join(fmt.Sprintf("app%02d", i%20), fmt.Sprintf("part%d", i%7),
			fmt.Sprintf("asset%04d%s", i, exts[i%len(exts)]))
		name := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return nil, 0, err
		}
		for j := range buf[:size] {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(name, buf[:size], 0o644); err != nil {
			return nil, 0, err
		}
		paths = append(paths, filepath.ToSlash(rel))
		total += size
	}
	return paths, total, nil
}

// rawUpload puts each file with PutObject, jobs at a time, streaming from the file.
func rawUpload(ctx context.Context, client *s3.Client, bucket, dir string,
	paths []string, jobs int) error {
	var (
		wg    sync.WaitGroup
		next  = make(chan string)
		mu    sync.Mutex
		first error
	)
	for range jobs {
		wg.Go(func() {
			for rel := range next {
				if err := putFile(ctx, client, bucket, dir, rel); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range paths {
		next <- p
	}
	close(next)
	wg.Wait()
	return first
}

func putFile(ctx context.Context, client *s3.Client, bucket, dir, rel string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: &rel, Body: f, ContentLength: &size})
	return err
}

// measure is one run of the command.
type measure struct {
	wall    time.Duration
	maxRSS  float64 // MiB
	summary string
}

// runCommand runs gormfile collectstatic on src into the storage cfg describes.
func runCommand(bin, src, cfg string, jobs int) (measure, error) {
	cmd := exec.Command(bin, "collectstatic", "--source", src, "--jobs", fmt.Sprint(jobs))
	cmd.Env = append(os.Environ(), "STATIC_STORAGE_BACKEND=s3", "STATIC_STORAGE_CONFIG="+cfg)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("%w: %s", err, errOut.Bytes())
	}
	var m measure
	m.wall = wall
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	m.summary = string(lines[len(lines)-1])
	return m, nil
}
