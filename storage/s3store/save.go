package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gormfile/gormfile/storage"
)

// maxNameTries bounds the names Save tries when keys are taken.
const maxNameTries = 20

// abortTimeout bounds the cleanup of a failed multipart upload.
const abortTimeout = 30 * time.Second

// Save writes the content of r under key, or under a free name derived from key when
// key is taken and neither the storage nor opts allow overwriting, and returns the key
// written. Content of up to PartSize bytes goes up in one PutObject, longer content in a
// multipart upload; either way the object appears whole or not at all.
func (s *Storage) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	const op = "save"
	if err := storage.CheckKey(backend, op, key); err != nil {
		return "", err
	}
	var so storage.SaveOptions
	if opts != nil {
		so = *opts
	}
	up := &upload{
		s:         s,
		key:       key,
		so:        &so,
		overwrite: s.opts.Overwrite || so.Overwrite,
		partSize:  s.partSize(so.Size),
	}

	// Content that may be small is first read into a small buffer, not a whole part:
	// one of its size (and one byte more, to see its end) when the size is told and
	// smaller than a part, a pooled one of 64 KiB when it is not told. Small files, the
	// common case, then take no part buffer, and many saves at once hold little memory.
	var (
		first  []byte
		pooled *[]byte // first, when it came from heads
	)
	switch {
	case so.Size > 0 && so.Size < up.partSize:
		first = make([]byte, so.Size+1)
	case so.Size <= 0:
		pooled = heads.Get().(*[]byte)
		first = *pooled
	default:
		first = up.buffer()
	}
	n1, eof, err := fill(r, first)
	if err == nil && !eof && int64(len(first)) < up.partSize {
		// Longer: go on in a whole part buffer.
		big := up.buffer()
		copy(big, first[:n1])
		if pooled != nil {
			heads.Put(pooled)
			pooled = nil
		}
		first = big
		var m int
		m, eof, err = fill(r, first[n1:])
		n1 += m
	}
	releaseFirst := func() {
		if pooled != nil {
			heads.Put(pooled)
			return
		}
		up.release(first)
	}
	if err != nil {
		releaseFirst()
		return "", s.fail(op, key, fmt.Errorf("reading the content: %w", err))
	}
	if eof {
		defer releaseFirst()
		return up.single(ctx, first[:n1])
	}

	second := up.buffer()
	n2, eof, err := fill(r, second)
	if err != nil {
		up.release(first, second)
		return "", s.fail(op, key, fmt.Errorf("reading the content: %w", err))
	}
	if n2 == 0 && eof {
		defer up.release(first, second)
		return up.single(ctx, first[:n1])
	}
	return up.multipart(ctx, r, first[:n1], second[:n2], eof)
}

// headSize is the size of the first read of a Save whose size is not told: content
// that fits goes up from it in one PutObject without taking a part buffer.
const headSize = 64 << 10

// heads holds the buffers of first reads, shared by all storages.
var heads = sync.Pool{New: func() any {
	b := make([]byte, headSize)
	return &b
}}

// partSize returns the part size for content of size bytes (<= 0: unknown), grown in
// whole MiB when the storage's part size would need more than 10,000 parts.
func (s *Storage) partSize(size int64) int64 {
	ps := s.opts.PartSize
	if size > ps*maxParts {
		const mib = 1 << 20
		ps = (size/maxParts + mib) / mib * mib
	}
	return min(ps, MaxPartSize)
}

// fill reads from r until buf is full or r ends. It reports a clean end of r as eof;
// any other error of r is returned, so that a reader failing with io.ErrUnexpectedEOF
// is never taken for the end of the content.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	empty := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		case m == 0:
			if empty++; empty > 100 {
				return n, false, io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return n, false, nil
}

// upload is the state of one Save.
type upload struct {
	s         *Storage
	key       string // the key asked for, relative to the location
	so        *storage.SaveOptions
	overwrite bool
	partSize  int64
}

// buffer returns a part buffer, from the storage's pool when the part size is the
// storage's own.
func (u *upload) buffer() []byte {
	if u.partSize == u.s.opts.PartSize {
		if p, ok := u.s.bufs.Get().(*[]byte); ok {
			return *p
		}
	}
	return make([]byte, u.partSize)
}

// release gives buffers back to the pool.
func (u *upload) release(bufs ...[]byte) {
	for _, b := range bufs {
		if int64(cap(b)) == u.s.opts.PartSize {
			b = b[:cap(b)]
			u.s.bufs.Put(&b)
		}
	}
}

// contentType returns the type to store for key.
func (u *upload) contentType(key string) string {
	if u.so.ContentType != "" {
		return u.so.ContentType
	}
	return storage.ContentTypeByName(key)
}

// params returns the object parameters of the storage, overridden by the Save's.
func (u *upload) params() (cacheControl, disposition string, meta map[string]string) {
	o := u.s.opts
	cacheControl, disposition = o.CacheControl, o.ContentDisposition
	if u.so.CacheControl != "" {
		cacheControl = u.so.CacheControl
	}
	if u.so.ContentDisposition != "" {
		disposition = u.so.ContentDisposition
	}
	if len(o.Metadata)+len(u.so.Metadata) > 0 {
		meta = make(map[string]string, len(o.Metadata)+len(u.so.Metadata))
		maps.Copy(meta, o.Metadata)
		maps.Copy(meta, u.so.Metadata)
	}
	return cacheControl, disposition, meta
}

// putInput returns the PutObject request for key (relative to the location).
func (u *upload) putInput(key string, body []byte) *s3.PutObjectInput {
	cc, cd, meta := u.params()
	o := u.s.opts
	in := &s3.PutObjectInput{
		Bucket:        &o.Bucket,
		Key:           aws.String(u.s.objectKey(key)),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(u.contentType(key)),
		Metadata:      meta,
	}
	if cc != "" {
		in.CacheControl = &cc
	}
	if cd != "" {
		in.ContentDisposition = &cd
	}
	if o.DefaultACL != "" {
		in.ACL = types.ObjectCannedACL(o.DefaultACL)
	}
	if o.ServerSideEncryption != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(o.ServerSideEncryption)
	}
	if o.StorageClass != "" {
		in.StorageClass = types.StorageClass(o.StorageClass)
	}
	if !u.overwrite {
		in.IfNoneMatch = aws.String("*")
	}
	return in
}

// probeAbove is the body size above which an exclusive single PutObject first asks
// whether the key is free. A server may answer 412 before it reads a large body and
// close the connection, and the client then sees a reset instead of the answer.
const probeAbove = 1 << 20

// single writes body in one PutObject. Without overwrite, a taken key (412) sends the
// same body again under alternative names.
func (u *upload) single(ctx context.Context, body []byte) (string, error) {
	key := u.key
	if !u.overwrite && len(body) > probeAbove {
		var err error
		if key, err = u.freeKey(ctx); err != nil {
			return "", err
		}
	}
	for try := 1; ; try++ {
		_, err := u.s.client.PutObject(ctx, u.putInput(key, body))
		if err == nil {
			u.s.bucketSeen.Store(true)
			return key, nil
		}
		taken := isTaken(err)
		if !u.overwrite && !taken && isNetworkError(err) && ctx.Err() == nil {
			// The answer may have been a 412 the connection reset hid, or a success
			// whose answer was lost: the object under key tells.
			if a, serr := u.s.stat(ctx, "save", key); serr == nil {
				if a.ETag == md5Hex(body) {
					return key, nil
				}
				taken = true
			}
		}
		if u.overwrite || !taken {
			return "", u.s.fail("save", key, err)
		}
		if try == maxNameTries {
			return "", u.s.fail("save", u.key, fmt.Errorf("%w: no free name after %d tries",
				storage.ErrExist, try))
		}
		if key, err = storage.AlternativeName(u.key, u.so.MaxKeyLength); err != nil {
			return "", u.s.fail("save", u.key, fmt.Errorf("%w: %w", storage.ErrExist, err))
		}
	}
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// freeKey returns u.key or, when it is taken, an alternative name that is free.
func (u *upload) freeKey(ctx context.Context) (string, error) {
	key := u.key
	for try := 1; ; try++ {
		_, err := u.s.stat(ctx, "save", key)
		if errors.Is(err, storage.ErrNotExist) {
			return key, nil
		}
		if err != nil {
			return "", err
		}
		if try == maxNameTries {
			return "", u.s.fail("save", u.key, fmt.Errorf("%w: no free name after %d tries",
				storage.ErrExist, try))
		}
		if key, err = storage.AlternativeName(u.key, u.so.MaxKeyLength); err != nil {
			return "", u.s.fail("save", u.key, fmt.Errorf("%w: %w", storage.ErrExist, err))
		}
	}
}

// multipart uploads first, second and the rest of r as the parts of one object. It
// owns first and second.
func (u *upload) multipart(ctx context.Context, r io.Reader, first, second []byte,
	eof bool) (string, error) {
	s := u.s
	key := u.key
	if !u.overwrite {
		var err error
		if key, err = u.freeKey(ctx); err != nil {
			u.release(first, second)
			return "", err
		}
	}

	cc, cd, meta := u.params()
	in := &s3.CreateMultipartUploadInput{
		Bucket:      &s.opts.Bucket,
		Key:         aws.String(s.objectKey(key)),
		ContentType: aws.String(u.contentType(key)),
		Metadata:    meta,
	}
	if cc != "" {
		in.CacheControl = &cc
	}
	if cd != "" {
		in.ContentDisposition = &cd
	}
	if s.opts.DefaultACL != "" {
		in.ACL = types.ObjectCannedACL(s.opts.DefaultACL)
	}
	if s.opts.ServerSideEncryption != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(s.opts.ServerSideEncryption)
	}
	if s.opts.StorageClass != "" {
		in.StorageClass = types.StorageClass(s.opts.StorageClass)
	}
	created, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		u.release(first, second)
		return "", s.fail("save", key, err)
	}
	s.bucketSeen.Store(true)
	mp := &multipart{u: u, key: key, id: created.UploadId}

	parts, err := mp.sendParts(ctx, r, first, second, eof)
	if err != nil {
		return "", s.fail("save", key, mp.abort(ctx, err))
	}

	done := &s3.CompleteMultipartUploadInput{
		Bucket:          &s.opts.Bucket,
		Key:             mp.objectKey(),
		UploadId:        mp.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if !u.overwrite {
		done.IfNoneMatch = aws.String("*")
	}
	if _, err := s.client.CompleteMultipartUpload(ctx, done); err != nil {
		if u.overwrite || !isTaken(err) {
			return "", s.fail("save", key, mp.abort(ctx, err))
		}
		err = fmt.Errorf("%w: the name was taken by another writer during the upload: %w",
			storage.ErrExist, err)
		return "", &storage.Error{Backend: backend, Op: "save", Key: key,
			Err: s.redact(mp.abort(ctx, err))}
	}
	return key, nil
}

// multipart is one multipart upload in progress.
type multipart struct {
	u   *upload
	key string
	id  *string
}

func (mp *multipart) objectKey() *string { return aws.String(mp.u.s.objectKey(mp.key)) }

// sendParts uploads first, second and what remains of r, Concurrency parts at a time,
// and returns the completed parts in order. It holds at most Concurrency+1 buffers and
// releases them all before returning. On the first failure it stops reading, waits for
// the parts in flight and returns that failure.
func (mp *multipart) sendParts(ctx context.Context, r io.Reader, first, second []byte,
	eof bool) ([]types.CompletedPart, error) {
	s, u := mp.u.s, mp.u
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		firstErr error
		parts    []types.CompletedPart
		wg       sync.WaitGroup
	)
	setErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}

	limit := s.opts.Concurrency
	free := make(chan []byte, limit+1) // buffers back from finished parts
	slots := make(chan struct{}, limit)
	allocated := 2

	send := func(num int32, buf []byte, n int) {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots; free <- buf }()
			if ctx.Err() != nil {
				return
			}
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        &s.opts.Bucket,
				Key:           mp.objectKey(),
				UploadId:      mp.id,
				PartNumber:    aws.Int32(num),
				Body:          bytes.NewReader(buf[:n]),
				ContentLength: aws.Int64(int64(n)),
			})
			if err != nil {
				setErr(fmt.Errorf("part %d: %w", num, err))
				return
			}
			mu.Lock()
			parts = append(parts, types.CompletedPart{
				PartNumber:        aws.Int32(num),
				ETag:              out.ETag,
				ChecksumCRC32:     out.ChecksumCRC32,
				ChecksumCRC32C:    out.ChecksumCRC32C,
				ChecksumCRC64NVME: out.ChecksumCRC64NVME,
				ChecksumSHA1:      out.ChecksumSHA1,
				ChecksumSHA256:    out.ChecksumSHA256,
			})
			mu.Unlock()
		}()
	}

	send(1, first[:cap(first)], len(first))
	send(2, second[:cap(second)], len(second))
	num := int32(3)
	for !eof && !failed() {
		var buf []byte
		select {
		case buf = <-free:
		default:
			if allocated <= limit {
				buf = u.buffer()
				allocated++
			} else {
				select {
				case buf = <-free:
				case <-ctx.Done():
				}
			}
		}
		if buf == nil {
			break
		}
		if err := ctx.Err(); err != nil {
			free <- buf
			setErr(err)
			break
		}
		var n int
		var err error
		n, eof, err = fill(r, buf)
		if err != nil {
			free <- buf
			setErr(fmt.Errorf("reading the content: %w", err))
			break
		}
		if n == 0 {
			free <- buf
			continue
		}
		if num > maxParts {
			free <- buf
			setErr(fmt.Errorf("the content needs more than %d parts of %d bytes: "+
				"give its size in SaveOptions.Size or raise the part size",
				maxParts, u.partSize))
			break
		}
		send(num, buf, n)
		num++
	}
	wg.Wait()
	for range allocated {
		u.release(<-free)
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int {
		return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber))
	})
	return parts, nil
}

// abort cancels the upload so that its parts are deleted, with a context of its own
// when ctx is done, and returns cause, joined with the abort's own failure if any.
func (mp *multipart) abort(ctx context.Context, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	s := mp.u.s
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   &s.opts.Bucket,
		Key:      mp.objectKey(),
		UploadId: mp.id,
	})
	if err != nil && !isNotFound(err) {
		return errors.Join(cause, fmt.Errorf("aborting upload %s failed, its parts remain: %w",
			aws.ToString(mp.id), err))
	}
	return cause
}
