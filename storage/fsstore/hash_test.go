package fsstore

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestContentMD5(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Save(ctx, "a/b.txt", strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key     string
		want    string
		wantErr error
	}{
		{"a/b.txt", "5d41402abc4b2a76b9719d911017c592", nil},
		{"a/missing.txt", "", fs.ErrNotExist},
		{"a", "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := s.ContentMD5(ctx, tt.key)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ContentMD5(%q) = %q, %v; want %q, %v", tt.key, got, err, tt.want,
					tt.wantErr)
			}
		})
	}
}
