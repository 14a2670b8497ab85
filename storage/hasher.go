package storage

import "context"

// Hasher is implemented by storages that can tell the digest of an object's content
// without sending the content anywhere, such as the local filesystem, which keeps no
// entity tag. Tools that compare local files with a storage's objects (collectstatic)
// ask it for objects whose [Attributes] carry no digest.
type Hasher interface {
	// ContentMD5 returns the hex-encoded MD5 digest of the object's content. A missing
	// object satisfies errors.Is(err, fs.ErrNotExist).
	ContentMD5(ctx context.Context, key string) (string, error)
}
