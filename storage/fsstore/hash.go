package fsstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"

	"github.com/gormfile/gormfile/storage"
)

var _ storage.Hasher = (*Storage)(nil)

// ContentMD5 reads the object's file and returns the hex-encoded MD5 digest of its
// content.
func (s *Storage) ContentMD5(ctx context.Context, key string) (string, error) {
	f, _, err := s.open(ctx, key)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", s.fail("hash", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
