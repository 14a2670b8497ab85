package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gormfile/gormfile/storage"
)

// wantedRegion finds the region a server asks for in an AuthorizationHeaderMalformed
// message ("the region 'us-east-1' is wrong; expecting 'eu-west-1'").
var wantedRegion = regexp.MustCompile(`expecting ['"]([a-z0-9-]+)['"]`)

// fail turns an error of the SDK into the *storage.Error of op on key. It is the one
// place where S3 errors are read: missing objects become storage.ErrNotExist, failed
// preconditions storage.ErrExist, and denied requests, wrong credentials, wrong regions,
// missing buckets and unreachable endpoints get a message that says so. The text never
// holds the secret key.
func (s *Storage) fail(op, key string, err error) error {
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	return &storage.Error{Backend: backend, Op: op, Key: key, Err: s.redact(s.explain(err))}
}

// explain wraps err with what it means for the user of the storage.
func (s *Storage) explain(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}

	code, status := errorCode(err), httpStatus(err)
	if slices.Contains(credentialCodes[:], code) {
		return fmt.Errorf("wrong credentials: the server rejects the access key or the "+
			"signature made with the secret key (%s): %w", code, err)
	}
	switch code {
	case "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist: %w", s.opts.Bucket, err)
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %w", storage.ErrNotExist, err)
	case "PreconditionFailed", "ConditionalRequestConflict":
		return fmt.Errorf("%w: %w", storage.ErrExist, err)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "MovedPermanently":
		if msg, ok := s.regionMismatch(err); ok {
			return fmt.Errorf("%s: %w", msg, err)
		}
	}
	switch status {
	case http.StatusNotFound:
		if code == "NoSuchUpload" {
			return err
		}
		return fmt.Errorf("%w: %w", storage.ErrNotExist, err)
	case http.StatusForbidden:
		return fmt.Errorf("access denied to bucket %q: %w", s.opts.Bucket, err)
	case http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %w", storage.ErrExist, err)
	case http.StatusMovedPermanently, http.StatusBadRequest:
		if msg, ok := s.regionMismatch(err); ok {
			return fmt.Errorf("%s: %w", msg, err)
		}
	}
	if status == 0 && isNetworkError(err) {
		return fmt.Errorf("endpoint unreachable: %w", err)
	}
	return err
}

// credentialCodes are the error codes of requests whose access key or signature the
// server rejects. XAdminUserNotFound is versitygw's answer (with status 404) to an
// unknown access key.
var credentialCodes = [...]string{"SignatureDoesNotMatch", "InvalidAccessKeyId",
	"InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidSecurity",
	"XAdminUserNotFound"}

// informative reports whether err says more than the status of a HEAD answer: a
// missing bucket, rejected credentials or a wrong region.
func informative(err error) bool {
	code := errorCode(err)
	switch code {
	case "NoSuchBucket", "AuthorizationHeaderMalformed", "PermanentRedirect":
		return true
	}
	return slices.Contains(credentialCodes[:], code)
}

// regionMismatch tells, for an error that may come from a request sent to the wrong
// region, which region the server wants.
func (s *Storage) regionMismatch(err error) (string, bool) {
	want := ""
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		want = re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	var ae smithy.APIError
	if want == "" && errors.As(err, &ae) {
		if m := wantedRegion.FindStringSubmatch(ae.ErrorMessage()); m != nil {
			want = m[1]
		}
	}
	code := errorCode(err)
	switch {
	case want != "" && want != s.region:
		return fmt.Sprintf("wrong region %q: the bucket %q is in region %q",
			s.region, s.opts.Bucket, want), true
	case code == "PermanentRedirect" || code == "MovedPermanently" ||
		httpStatus(err) == http.StatusMovedPermanently ||
		code == "AuthorizationHeaderMalformed" && strings.Contains(errorMessage(err), "region"):
		return fmt.Sprintf("wrong region %q for bucket %q (the server did not say "+
			"which one it wants)", s.region, s.opts.Bucket), true
	}
	return "", false
}

// errorCode returns the S3 error code of err ("NoSuchKey", ...), or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errorMessage returns the S3 error message of err, or "".
func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// httpStatus returns the HTTP status of the answer that err reports, or 0 when no
// answer came.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports whether err is a 404 answer, whatever its code.
func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	}
	return httpStatus(err) == http.StatusNotFound && errorCode(err) != "NoSuchBucket"
}

// isTaken reports whether err says that a conditional write found the key taken.
func isTaken(err error) bool {
	switch errorCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	return httpStatus(err) == http.StatusPreconditionFailed
}

// isNetworkError reports whether err failed before any answer: connection refused, DNS,
// TLS or timeouts.
func isNetworkError(err error) bool {
	var rse *smithyhttp.RequestSendError
	if errors.As(err, &rse) {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de)
}

// redact removes the storage's secrets from the text of err, keeping err in the chain.
func (s *Storage) redact(err error) error {
	text := err.Error()
	clean := text
	for _, secret := range s.secrets {
		if secret != "" {
			clean = strings.ReplaceAll(clean, secret, "[redacted]")
		}
	}
	if clean == text {
		return err
	}
	return &redactedError{text: clean, err: err}
}

// redactedError shows a cleaned text and unwraps to the original error.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
