package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// opsClient times the S3 client's requests by operation, from the request until its
// answer's headers: for an upload, the whole body's transfer and the server's work.
type opsClient struct {
	inner aws.HTTPClient

	mu  sync.Mutex
	ops map[string]*opStat
}

type opStat struct {
	n     int
	total time.Duration
}

func (c *opsClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.inner.Do(req)
	d := time.Since(start)
	c.mu.Lock()
	if c.ops == nil {
		c.ops = map[string]*opStat{}
	}
	s := c.ops[operation(req)]
	if s == nil {
		s = &opStat{}
		c.ops[operation(req)] = s
	}
	s.n++
	s.total += d
	c.mu.Unlock()
	return resp, err
}

// take returns what was recorded since the last call, as "PutObject 1000× 1.20 s, ...".
func (c *opsClient) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.ops))
	for name := range c.ops {
		names = append(names, name)
	}
	slices.Sort(names)
	var parts []string
	for _, name := range names {
		s := c.ops[name]
		parts = append(parts, fmt.Sprintf("%s %d× %s", name, s.n, seconds(s.total)))
	}
	c.ops = nil
	return strings.Join(parts, ", ")
}

// operation names the S3 operation of a request from its method and query.
func operation(r *http.Request) string {
	q := r.URL.RawQuery
	switch {
	case r.Method == http.MethodPost && strings.Contains(q, "uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && strings.Contains(q, "partNumber="):
		return "UploadPart"
	case r.Method == http.MethodPost && strings.Contains(q, "uploadId="):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && strings.Contains(q, "uploadId="):
		return "AbortMultipartUpload"
	case r.Method == http.MethodGet && strings.Contains(q, "list-type=2"):
		return "ListObjectsV2"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return r.Method
}
