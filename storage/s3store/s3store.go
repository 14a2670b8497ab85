// Package s3store keeps field files in an Amazon S3 bucket or on an S3-compatible server
// (MinIO, Ceph, Garage, versitygw, ...).
//
// # Settings
//
// [New] takes a ready *s3.Client and [Options]. [NewFromConfig] builds the client from
// the settings an operator already knows from django-storages (AWS_STORAGE_BUCKET_NAME,
// AWS_S3_ENDPOINT_URL, AWS_LOCATION, ...); the package registers it with
// [storage.Register] as "s3", "storages.backends.s3.S3Storage" and
// "storages.backends.s3boto3.S3Boto3Storage".
//
// One default differs from django-storages: AWS_S3_FILE_OVERWRITE is false here, so
// [Storage.Save] never replaces an object; it claims a free name instead, as Django's
// FileSystemStorage does. Set it to true for django-storages' behaviour.
//
// # Uploads
//
// Save reads content of unknown size first into a small pooled buffer (64 KiB), and
// content of a told size below PartSize into a buffer of that size, so that small files
// take no part buffer. Longer content is read into part buffers of PartSize bytes.
// Content that fits in one is sent in one PutObject; longer content goes up in a
// multipart upload of PartSize parts, Concurrency of them in flight, so that one Save
// holds at most PartSize×(Concurrency+1) bytes (32 MiB with the defaults). A failed
// upload is aborted: no object and no parts remain.
//
// A Save that must not overwrite sends its PutObject with If-None-Match: * and tries
// another name when the server answers 412. A multipart Save first finds a free name
// with HeadObject and completes the upload with If-None-Match: *; when another writer
// took the name meanwhile, it aborts and fails with an error satisfying fs.ErrExist.
// Servers that ignore If-None-Match on writes cannot give that guarantee.
//
// Content of unknown length is limited to 10,000 parts (78 GiB with the default part
// size); give SaveOptions.Size and Save grows the parts to fit.
//
// # URLs
//
// With QuerystringAuth (the default through NewFromConfig) URLs are presigned GET
// requests. Otherwise they are plain: CustomDomain, else the public or configured
// endpoint with the bucket in the path (path style) or the host (virtual-hosted style),
// resolved once per Storage; building one then costs one allocation.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/storage"
)

const (
	backend = "s3"

	// DefaultPartSize is the multipart threshold and part size when Options.PartSize is 0.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 accepts, except for the last one.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30
	// DefaultConcurrency is the number of parts in flight when Options.Concurrency is 0.
	DefaultConcurrency = 3
	// DefaultQuerystringExpire is how long presigned URLs last by default.
	DefaultQuerystringExpire = time.Hour
	// maxParts is S3's limit on the parts of one upload.
	maxParts = 10000
)

// Options configures a [Storage]. The zero value of every field but Bucket is usable.
type Options struct {
	// Bucket holds the objects. Required.
	Bucket string

	// Location is a key prefix, written in any form ("/media/", "media", "media//x/").
	// It is cleaned with storage.CleanLocation and put before every key exactly once;
	// keys passed in, returned and listed are relative to it.
	Location string

	// DefaultACL is the canned ACL sent with every upload ("public-read", ...); empty
	// sends none and leaves access to the bucket's policy.
	DefaultACL string

	// QuerystringAuth makes URL presign a GET request; false gives plain URLs.
	QuerystringAuth bool

	// QuerystringExpire is how long presigned URLs last; 0 means an hour.
	QuerystringExpire time.Duration

	// CustomDomain is host[:port][/path] serving the bucket (a CDN or a CNAME). Plain
	// URLs are URLProtocol//CustomDomain/location/key. With QuerystringAuth the URL is
	// still presigned, against CustomDomain as the host: the domain must forward the
	// request, Host included, to the bucket (an S3 CNAME bucket named after the domain,
	// or a proxy doing the same), or the signature will not verify.
	CustomDomain string

	// URLProtocol is the scheme of CustomDomain URLs, "https:" (default) or "http:", as
	// django-storages' AWS_S3_URL_PROTOCOL.
	URLProtocol string

	// PublicEndpoint replaces the client's endpoint in URLs, plain and presigned, for a
	// server that this process reaches at an internal address
	// (http://minio:9000 inside, https://files.example.com outside). Presigned URLs are
	// signed for the public host: a proxy in front of the server must pass the Host
	// header on unchanged.
	PublicEndpoint string

	// Overwrite lets Save replace an existing object. False (the default) makes Save
	// pick a free name instead.
	Overwrite bool

	// PartSize is the multipart threshold and part size, at least MinPartSize; 0 means
	// DefaultPartSize. Save grows it for large uploads whose size it is told, to stay
	// within S3's 10,000 parts.
	PartSize int64

	// Concurrency is the number of parts uploaded at once; 0 means DefaultConcurrency.
	Concurrency int

	// ListPageSize is the number of keys asked for per listing request; 0 means 1000.
	ListPageSize int32

	// Object parameters applied to every Save; SaveOptions.CacheControl,
	// ContentDisposition and Metadata override them per Save (Metadata key by key).
	CacheControl         string
	ContentDisposition   string
	Metadata             map[string]string
	ServerSideEncryption string
	StorageClass         string
}

// Storage keeps objects in one S3 bucket, under an optional key prefix. It is safe for
// concurrent use.
type Storage struct {
	client   *s3.Client
	presign  *s3.PresignClient
	opts     Options
	location string
	region   string

	// bufs holds part buffers of opts.PartSize bytes, shared by all uploads.
	bufs sync.Pool

	// urlBase is the plain URL of the location, built by plainBase on first use.
	urlBase atomic.Pointer[string]

	// bucketSeen is set once the bucket answered, so that a 404 on HEAD means a
	// missing key and not a missing bucket.
	bucketSeen atomic.Bool

	// secrets are removed from error text, in case a server echoes one.
	secrets []string
}

var _ storage.Storage = (*Storage)(nil)

// New returns a Storage over client. opts.Bucket is required.
//
// The client is used as it is: to talk to a third-party server, build it with
// RequestChecksumCalculation and ResponseChecksumValidation set to "when required", as
// [NewFromConfig] does.
func New(client *s3.Client, opts *Options) (*Storage, error) {
	if client == nil {
		return nil, errors.New("s3store: nil client")
	}
	if opts == nil {
		return nil, errors.New("s3store: no options: the bucket is required")
	}
	o, err := normalize(*opts)
	if err != nil {
		return nil, err
	}
	o.Metadata = maps.Clone(o.Metadata)
	loc, err := storage.CleanLocation(o.Location)
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	s := &Storage{
		client:   client,
		opts:     o,
		location: loc,
		region:   client.Options().Region,
	}
	s.presign = s3.NewPresignClient(client, s.presignClientOptions)
	return s, nil
}

// normalize checks o and fills in its defaults.
func normalize(o Options) (Options, error) {
	if o.Bucket == "" {
		return o, errors.New("s3store: the bucket is required")
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize || o.PartSize > MaxPartSize:
		return o, fmt.Errorf("s3store: part size %d outside S3's limits [%d, %d]",
			o.PartSize, MinPartSize, MaxPartSize)
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = DefaultConcurrency
	case o.Concurrency < 0:
		return o, fmt.Errorf("s3store: negative concurrency %d", o.Concurrency)
	}
	switch {
	case o.ListPageSize == 0:
		o.ListPageSize = 1000
	case o.ListPageSize < 0 || o.ListPageSize > 1000:
		return o, fmt.Errorf("s3store: list page size %d outside [1, 1000]", o.ListPageSize)
	}
	switch {
	case o.QuerystringExpire == 0:
		o.QuerystringExpire = DefaultQuerystringExpire
	case o.QuerystringExpire < 0 || o.QuerystringExpire > maxPresignExpiry:
		return o, fmt.Errorf("s3store: querystring expiry %v outside (0, 7 days]",
			o.QuerystringExpire)
	}
	switch strings.ToLower(strings.TrimSpace(o.URLProtocol)) {
	case "", "https", "https:":
		o.URLProtocol = "https:"
	case "http", "http:":
		o.URLProtocol = "http:"
	default:
		return o, fmt.Errorf("s3store: URL protocol %q: want \"https:\" or \"http:\"",
			o.URLProtocol)
	}
	if o.CustomDomain != "" {
		o.CustomDomain = strings.TrimSuffix(o.CustomDomain, "/")
		if strings.Contains(o.CustomDomain, "://") || strings.ContainsAny(o.CustomDomain, "?# ") {
			return o, fmt.Errorf("s3store: custom domain %q: want host[:port][/path], "+
				"without a scheme (see the URL protocol setting)", o.CustomDomain)
		}
	}
	if _, err := storage.CleanLocation(o.Location); err != nil {
		return o, fmt.Errorf("s3store: %w", err)
	}
	if o.PublicEndpoint != "" {
		if err := checkEndpoint(o.PublicEndpoint); err != nil {
			return o, fmt.Errorf("s3store: public endpoint: %w", err)
		}
	}
	return o, nil
}

// checkEndpoint accepts absolute http and https URLs.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL with a host", s)
	}
	return nil
}

// objectKey returns the bucket key of a storage key.
func (s *Storage) objectKey(key string) string {
	return storage.JoinLocation(s.location, key)
}

// Open returns a stream of the object's content.
func (s *Storage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, key, 0, -1)
}

// OpenRange returns a stream of length bytes of the object from offset; a negative
// length reads to the end. A range that starts at or after the end of the object gives
// an empty stream.
func (s *Storage) OpenRange(ctx context.Context, key string, offset, length int64,
) (io.ReadCloser, error) {
	const op = "open"
	if err := storage.CheckKey(backend, op, key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &storage.Error{Backend: backend, Op: op, Key: key,
			Err: fmt.Errorf("negative offset %d", offset)}
	}
	if length == 0 {
		// No Range header says "zero bytes"; the object must still exist.
		if _, err := s.stat(ctx, op, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}

	in := &s3.GetObjectInput{Bucket: &s.opts.Bucket, Key: aws.String(s.objectKey(key))}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	if err == nil {
		s.bucketSeen.Store(true)
		return out.Body, nil
	}
	if errorCode(err) == "InvalidRange" ||
		httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
		// The range starts at or after the end, of an empty object at least: nothing
		// is left to read there.
		a, serr := s.stat(ctx, op, key)
		if serr != nil {
			return nil, serr
		}
		if offset >= a.Size {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
	}
	return nil, s.fail(op, key, err)
}

// Stat returns the object's attributes.
func (s *Storage) Stat(ctx context.Context, key string) (*storage.Attributes, error) {
	const op = "stat"
	if err := storage.CheckKey(backend, op, key); err != nil {
		return nil, err
	}
	return s.stat(ctx, op, key)
}

func (s *Storage) stat(ctx context.Context, op, key string) (*storage.Attributes, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: &s.opts.Bucket,
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		return nil, s.fail(op, key, s.headError(ctx, key, err))
	}
	s.bucketSeen.Store(true)
	return &storage.Attributes{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		ContentType: aws.ToString(out.ContentType),
		ETag:        strings.Trim(aws.ToString(out.ETag), `"`),
		Metadata:    out.Metadata,
	}, nil
}

// headError finds out why a HEAD request failed. Its answer has no body: a status alone
// cannot tell a missing key from a missing bucket or a user unknown to the server, nor
// a denied request from one signed with the wrong secret or for the wrong region. A
// listing of the key's prefix (GET, with a body) asks the server to say which.
func (s *Storage) headError(ctx context.Context, key string, err error) error {
	status := httpStatus(err)
	switch {
	case status == http.StatusNotFound && s.bucketSeen.Load(),
		status != http.StatusNotFound && status != http.StatusForbidden &&
			status != http.StatusBadRequest && status != http.StatusMovedPermanently:
		return err
	}
	_, perr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  &s.opts.Bucket,
		Prefix:  aws.String(s.objectKey(key)),
		MaxKeys: aws.Int32(1),
	})
	if perr == nil {
		s.bucketSeen.Store(true)
		return err
	}
	if informative(perr) {
		return perr
	}
	return err
}

// Delete removes the object; a missing object is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	const op = "delete"
	if err := storage.CheckKey(backend, op, key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: &s.opts.Bucket,
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		err = s.fail(op, key, err)
		if errors.Is(err, storage.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// List calls fn for each object whose key starts with prefix, in key order. Listing
// gives no content type: Attributes.ContentType and Metadata are empty.
func (s *Storage) List(ctx context.Context, prefix string,
	fn func(*storage.Attributes) error) error {
	const op = "list"
	if strings.ContainsRune(prefix, 0) || strings.HasPrefix(prefix, "/") {
		return &storage.Error{Backend: backend, Op: op, Key: fmt.Sprintf("%q", prefix),
			Err: storage.ErrInvalidKey}
	}
	full := prefix
	if s.location != "" {
		full = s.location + "/" + prefix
	}
	strip := len(full) - len(prefix)

	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:  &s.opts.Bucket,
		Prefix:  aws.String(full),
		MaxKeys: aws.Int32(s.opts.ListPageSize),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.fail(op, prefix, err)
		}
		s.bucketSeen.Store(true)
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if len(k) <= strip || !strings.HasPrefix(k, full) {
				continue
			}
			err := fn(&storage.Attributes{
				Key:     k[strip:],
				Size:    aws.ToInt64(obj.Size),
				ModTime: aws.ToTime(obj.LastModified),
				ETag:    strings.Trim(aws.ToString(obj.ETag), `"`),
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
