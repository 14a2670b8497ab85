package s3store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/gormfile/gormfile/storage"
)

// URL returns an address at which the object can be read: a presigned GET when
// QuerystringAuth is set, a plain URL otherwise. Presigned URLs last opts.Expires, or
// QuerystringExpire, and carry opts.DownloadName as the response's Content-Disposition.
// URL does not check that the object exists.
func (s *Storage) URL(ctx context.Context, key string, opts *storage.URLOptions,
) (string, error) {
	const op = "url"
	if err := storage.CheckKey(backend, op, key); err != nil {
		return "", err
	}
	var uo storage.URLOptions
	if opts != nil {
		uo = *opts
	}
	if !s.opts.QuerystringAuth {
		u, err := s.plainURL(ctx, key)
		if err != nil {
			return "", s.fail(op, key, err)
		}
		return u, nil
	}

	in := &s3.GetObjectInput{Bucket: &s.opts.Bucket, Key: aws.String(s.objectKey(key))}
	if uo.DownloadName != "" {
		in.ResponseContentDisposition = aws.String(Attachment(uo.DownloadName))
	}
	expires := uo.Expires
	if expires <= 0 {
		expires = s.opts.QuerystringExpire
	}
	if expires > maxPresignExpiry {
		return "", &storage.Error{Backend: backend, Op: op, Key: key,
			Err: fmt.Errorf("expiry %v exceeds the 7 days SigV4 allows", expires)}
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(expires))
	if err != nil {
		return "", s.fail(op, key, err)
	}
	return req.URL, nil
}

// presignClientOptions points presigned URLs at PublicEndpoint or CustomDomain.
func (s *Storage) presignClientOptions(po *s3.PresignOptions) {
	po.Expires = s.opts.QuerystringExpire
	if s.opts.PublicEndpoint != "" {
		endpoint := s.opts.PublicEndpoint
		po.ClientOptions = append(po.ClientOptions, func(o *s3.Options) {
			o.BaseEndpoint = &endpoint
		})
	}
	if s.opts.CustomDomain != "" {
		base := s.customDomainURL()
		po.ClientOptions = append(po.ClientOptions, func(o *s3.Options) {
			o.EndpointResolverV2 = &domainResolver{inner: o.EndpointResolverV2, base: base}
		})
	}
}

// customDomainURL returns URLProtocol//CustomDomain as a URL.
func (s *Storage) customDomainURL() url.URL {
	host, path, _ := strings.Cut(s.opts.CustomDomain, "/")
	u := url.URL{Scheme: strings.TrimSuffix(s.opts.URLProtocol, ":"), Host: host}
	if path != "" {
		u.Path = "/" + strings.Trim(path, "/")
	}
	return u
}

// domainResolver sends requests to a custom domain that stands for the bucket: the
// bucket appears neither in the host nor in the path. It keeps the signing settings of
// the endpoint the SDK would have used.
type domainResolver struct {
	inner s3.EndpointResolverV2
	base  url.URL
}

func (r *domainResolver) ResolveEndpoint(ctx context.Context, params s3.EndpointParameters,
) (smithyendpoints.Endpoint, error) {
	ep, err := r.inner.ResolveEndpoint(ctx, params)
	if err != nil {
		return ep, err
	}
	ep.URI = r.base
	return ep, nil
}

// plainURL returns the unsigned URL of key (relative to the location): the location's
// address, built once, and the escaped key, in one allocation.
func (s *Storage) plainURL(ctx context.Context, key string) (string, error) {
	base, err := s.plainBase(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(base) + escapedLen(key))
	b.WriteString(base)
	writeEscaped(&b, key)
	return b.String(), nil
}

// plainBase returns the plain URL of the location, ending in "/": CustomDomain, or the
// endpoint the client's resolver gives for the bucket, then the escaped location. It is
// built on first use and kept: the bucket's endpoint depends on the client's settings,
// which do not change, and not on the key. Asking the resolver for every URL took
// microseconds and dozens of allocations each.
func (s *Storage) plainBase(ctx context.Context) (string, error) {
	if p := s.urlBase.Load(); p != nil {
		return *p, nil
	}
	var base string
	if s.opts.CustomDomain != "" {
		u := s.customDomainURL()
		base = u.String() + "/"
	} else {
		o := s.client.Options()
		endpoint := o.BaseEndpoint
		if s.opts.PublicEndpoint != "" {
			endpoint = &s.opts.PublicEndpoint
		}
		resolver := o.EndpointResolverV2
		if resolver == nil {
			resolver = s3.NewDefaultEndpointResolverV2()
		}
		ep, err := resolver.ResolveEndpoint(ctx, s3.EndpointParameters{
			Bucket:         &s.opts.Bucket,
			Region:         aws.String(o.Region),
			Endpoint:       endpoint,
			ForcePathStyle: aws.Bool(o.UsePathStyle),
			Accelerate:     aws.Bool(o.UseAccelerate),
			UseFIPS: aws.Bool(
				o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			UseDualStack: aws.Bool(
				o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
			UseArnRegion:                   aws.Bool(o.UseARNRegion),
			DisableMultiRegionAccessPoints: aws.Bool(o.DisableMultiRegionAccessPoints),
		})
		if err != nil {
			return "", fmt.Errorf("resolving the bucket's endpoint: %w", err)
		}
		u := ep.URI
		base = u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + "/"
	}
	if s.location != "" {
		base += EscapeKey(s.location) + "/"
	}
	s.urlBase.Store(&base)
	return base, nil
}

// EscapeKey percent-encodes an object key for a URL path as S3 does: every byte but
// the letters, digits, "-", ".", "_", "~" and the "/" between segments is written as
// %XX ("a b+c.txt" gives "a%20b%2Bc.txt"; "é" gives "%C3%A9").
func EscapeKey(key string) string {
	var b strings.Builder
	b.Grow(escapedLen(key))
	writeEscaped(&b, key)
	return b.String()
}

// escapedLen returns the length of key escaped by EscapeKey.
func escapedLen(key string) int {
	n := len(key)
	for i := 0; i < len(key); i++ {
		if c := key[i]; !unreserved(c) && c != '/' {
			n += 2
		}
	}
	return n
}

// writeEscaped writes key to b escaped as EscapeKey does.
func writeEscaped(b *strings.Builder, key string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		if unreserved(c) || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// Attachment returns a Content-Disposition value that asks a browser to save the
// content as name (RFC 6266): an ASCII fallback in filename, and the exact name in
// filename* (RFC 5987, UTF-8 percent-encoded) when the fallback differs from it.
func Attachment(name string) string {
	var ascii strings.Builder
	exact := true
	for _, r := range name {
		switch {
		case r < 0x20 || r >= 0x7f || r == '"' || r == '\\':
			ascii.WriteByte('_')
			exact = false
		case r == '%':
			ascii.WriteRune(r)
			exact = false // some browsers decode %XX in filename
		default:
			ascii.WriteRune(r)
		}
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if !exact {
		v += "; filename*=UTF-8''" + escape5987(name)
	}
	return v
}

// escape5987 percent-encodes what is not an attr-char of RFC 5987.
func escape5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || strings.IndexByte("!#$&+^`|", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// maxPresignExpiry is the longest validity SigV4 allows a presigned URL.
const maxPresignExpiry = 7 * 24 * time.Hour
