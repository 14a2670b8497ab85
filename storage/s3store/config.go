package s3store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/storage"
)

func init() {
	storage.Register(func(ctx context.Context, cfg storage.Config) (storage.Storage, error) {
		s, err := NewFromConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	}, "s3", "storages.backends.s3boto3.S3Boto3Storage", "storages.backends.s3.S3Storage")
}

// Settings read by [NewFromConfig], named as in django-storages.
const (
	SettingAccessKeyID       = "AWS_ACCESS_KEY_ID"
	SettingSecretAccessKey   = "AWS_SECRET_ACCESS_KEY"
	SettingSessionToken      = "AWS_SESSION_TOKEN"
	SettingBucket            = "AWS_STORAGE_BUCKET_NAME"
	SettingRegion            = "AWS_S3_REGION_NAME"
	SettingEndpointURL       = "AWS_S3_ENDPOINT_URL"
	SettingAddressingStyle   = "AWS_S3_ADDRESSING_STYLE"
	SettingDefaultACL        = "AWS_DEFAULT_ACL"
	SettingQuerystringAuth   = "AWS_QUERYSTRING_AUTH"
	SettingQuerystringExpire = "AWS_QUERYSTRING_EXPIRE"
	SettingLocation          = "AWS_LOCATION"
	SettingCustomDomain      = "AWS_S3_CUSTOM_DOMAIN"
	SettingURLProtocol       = "AWS_S3_URL_PROTOCOL"
	SettingFileOverwrite     = "AWS_S3_FILE_OVERWRITE"
	SettingPublicEndpointURL = "AWS_S3_PUBLIC_ENDPOINT_URL"
	SettingObjectParameters  = "AWS_S3_OBJECT_PARAMETERS"
	SettingPartSize          = "AWS_S3_PART_SIZE"
)

var knownSettings = []string{
	SettingAccessKeyID, SettingSecretAccessKey, SettingSessionToken, SettingBucket,
	SettingRegion, SettingEndpointURL, SettingAddressingStyle, SettingDefaultACL,
	SettingQuerystringAuth, SettingQuerystringExpire, SettingLocation, SettingCustomDomain,
	SettingURLProtocol, SettingFileOverwrite, SettingPublicEndpointURL,
	SettingObjectParameters, SettingPartSize,
}

// DefaultRegion is the region of a client when neither AWS_S3_REGION_NAME nor the
// SDK's environment or shared profile names one; S3-compatible servers accept it.
const DefaultRegion = "us-east-1"

// clientSettings are the settings that build the client rather than the Storage.
type clientSettings struct {
	accessKey, secretKey, sessionToken string
	region, endpoint                   string
	pathStyle                          bool
}

// NewFromConfig builds a client from cfg and returns a Storage over it.
//
// Settings (django-storages names): AWS_STORAGE_BUCKET_NAME (required),
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_S3_REGION_NAME,
// AWS_S3_ENDPOINT_URL, AWS_S3_ADDRESSING_STYLE ("path", "virtual" or "auto"),
// AWS_DEFAULT_ACL, AWS_QUERYSTRING_AUTH (default true), AWS_QUERYSTRING_EXPIRE (seconds,
// default 3600), AWS_LOCATION, AWS_S3_CUSTOM_DOMAIN, AWS_S3_URL_PROTOCOL,
// AWS_S3_FILE_OVERWRITE (default false, unlike django-storages: see the package
// documentation), AWS_S3_PUBLIC_ENDPOINT_URL, AWS_S3_OBJECT_PARAMETERS (an object of
// CacheControl, ContentDisposition, ServerSideEncryption, StorageClass and Metadata) and
// AWS_S3_PART_SIZE (bytes). Any other AWS_* setting is an error; settings without that
// prefix belong to others and are ignored.
//
// Without an access key, credentials come from the SDK's default chain (environment,
// shared profile, IAM role). The region defaults to the environment's, else
// DefaultRegion. With AWS_S3_ENDPOINT_URL, addressing is path style unless told
// otherwise, and checksums are computed and checked only where the operation requires
// them: third-party servers reject the SDK's default checksum headers and aws-chunked
// trailers.
//
// optFns tune the client after those settings, as in s3.NewFromConfig. When one of them
// sets an *http.Client and AWS_CA_BUNDLE names a PEM file, NewFromConfig puts the
// bundle into the roots of a copy of the client's *http.Transport (the SDK's own
// loading fails on such a client); a transport of any other type is used as it is, and
// must trust the bundle itself.
func NewFromConfig(ctx context.Context, cfg storage.Config, optFns ...func(*s3.Options),
) (*Storage, error) {
	opts, cs, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}

	var load []func(*config.LoadOptions) error
	if cs.region != "" {
		load = append(load, config.WithRegion(cs.region))
	}
	if cs.accessKey != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cs.accessKey, cs.secretKey, cs.sessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("s3store: loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}

	var bundleErr error
	fns := make([]func(*s3.Options), 0, len(optFns)+2)
	fns = append(fns, func(o *s3.Options) {
		o.UsePathStyle = cs.pathStyle
		if cs.endpoint != "" {
			o.BaseEndpoint = aws.String(cs.endpoint)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	fns = append(fns, optFns...)
	fns = append(fns, func(o *s3.Options) { bundleErr = applyCABundle(o) })
	client := s3.NewFromConfig(awsCfg, fns...)
	if bundleErr != nil {
		return nil, fmt.Errorf("s3store: %w", bundleErr)
	}

	s, err := New(client, opts)
	if err != nil {
		return nil, err
	}
	s.secrets = []string{cs.secretKey, cs.sessionToken}
	return s, nil
}

// parseConfig reads the settings of cfg.
func parseConfig(cfg storage.Config) (*Options, *clientSettings, error) {
	var unknown []string
	for k := range cfg {
		if strings.HasPrefix(k, "AWS_") && !slices.Contains(knownSettings, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, nil, fmt.Errorf("s3store: unknown settings %s (known: %s)",
			strings.Join(unknown, ", "), strings.Join(knownSettings, ", "))
	}

	var (
		o    Options
		cs   clientSettings
		errs []error
		addr string
	)
	str := func(dst *string, key string) {
		v, err := cfg.String(key, "")
		errs = append(errs, err)
		*dst = strings.TrimSpace(v)
	}
	str(&cs.accessKey, SettingAccessKeyID)
	str(&cs.secretKey, SettingSecretAccessKey)
	str(&cs.sessionToken, SettingSessionToken)
	str(&cs.region, SettingRegion)
	str(&cs.endpoint, SettingEndpointURL)
	str(&addr, SettingAddressingStyle)
	str(&o.Bucket, SettingBucket)
	str(&o.DefaultACL, SettingDefaultACL)
	str(&o.Location, SettingLocation)
	str(&o.CustomDomain, SettingCustomDomain)
	str(&o.URLProtocol, SettingURLProtocol)
	str(&o.PublicEndpoint, SettingPublicEndpointURL)

	var err error
	o.QuerystringAuth, err = cfg.Bool(SettingQuerystringAuth, true)
	errs = append(errs, err)
	o.QuerystringExpire, err = cfg.Seconds(SettingQuerystringExpire, DefaultQuerystringExpire)
	errs = append(errs, err)
	o.Overwrite, err = cfg.Bool(SettingFileOverwrite, false)
	errs = append(errs, err)
	o.PartSize, err = cfg.Int(SettingPartSize, 0)
	errs = append(errs, err)
	errs = append(errs, parseObjectParameters(cfg, &o))
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}

	if o.Bucket == "" {
		return nil, nil, fmt.Errorf("s3store: %s is required", SettingBucket)
	}
	if (cs.accessKey == "") != (cs.secretKey == "") {
		return nil, nil, fmt.Errorf("s3store: %s and %s go together",
			SettingAccessKeyID, SettingSecretAccessKey)
	}
	if cs.endpoint != "" {
		if err := checkEndpoint(cs.endpoint); err != nil {
			return nil, nil, fmt.Errorf("s3store: %s: %w", SettingEndpointURL, err)
		}
	}
	switch strings.ToLower(addr) {
	case "", "auto":
		cs.pathStyle = cs.endpoint != ""
	case "path":
		cs.pathStyle = true
	case "virtual":
		cs.pathStyle = false
	default:
		return nil, nil, fmt.Errorf("s3store: %s %q: want \"path\", \"virtual\" or \"auto\"",
			SettingAddressingStyle, addr)
	}
	if _, err := normalize(o); err != nil {
		return nil, nil, err
	}
	return &o, &cs, nil
}

// parseObjectParameters reads AWS_S3_OBJECT_PARAMETERS into o.
func parseObjectParameters(cfg storage.Config, o *Options) error {
	v, ok := cfg[SettingObjectParameters]
	if !ok || v == nil {
		return nil
	}
	params, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("storage config: %s: want an object, have %T",
			SettingObjectParameters, v)
	}
	sub := storage.Config(params)
	var errs []error
	for name := range params {
		var err error
		switch name {
		case "CacheControl":
			o.CacheControl, err = sub.String(name, "")
		case "ContentDisposition":
			o.ContentDisposition, err = sub.String(name, "")
		case "ServerSideEncryption":
			o.ServerSideEncryption, err = sub.String(name, "")
		case "StorageClass":
			o.StorageClass, err = sub.String(name, "")
		case "Metadata":
			o.Metadata, err = sub.StringMap(name)
		default:
			err = fmt.Errorf("unknown parameter %q (known: CacheControl, "+
				"ContentDisposition, Metadata, ServerSideEncryption, StorageClass)", name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("storage config: %s: %w", SettingObjectParameters, err))
		}
	}
	return errors.Join(errs...)
}

// applyCABundle loads the PEM file named by AWS_CA_BUNDLE into the roots of o's HTTP
// client when it is a plain *http.Client; the SDK's own client already has it.
func applyCABundle(o *s3.Options) error {
	path := os.Getenv("AWS_CA_BUNDLE")
	hc, ok := o.HTTPClient.(*http.Client)
	if path == "" || !ok {
		return nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	c, err := WithRootCAs(hc, pem)
	if err != nil {
		return fmt.Errorf("AWS_CA_BUNDLE %s: %w", path, err)
	}
	o.HTTPClient = c
	return nil
}

// WithRootCAs returns a copy of hc whose transport trusts the PEM certificates of pem,
// in addition to the roots its TLS configuration already names, or instead of the
// system's roots when it names none (as the SDK does with AWS_CA_BUNDLE). hc is
// returned unchanged when its transport is not an *http.Transport.
func WithRootCAs(hc *http.Client, pem []byte) (*http.Client, error) {
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		dt, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return hc, nil
		}
		tr = dt.Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return hc, nil
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	pool := x509.NewCertPool()
	if tr.TLSClientConfig.RootCAs != nil {
		pool = tr.TLSClientConfig.RootCAs.Clone()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate found")
	}
	tr.TLSClientConfig.RootCAs = pool
	c := *hc
	c.Transport = tr
	return &c, nil
}
