package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
)

func testOpenRange(t *testing.T, h Harness) {
	s := h.New(t, false)
	const key = "range/obj.bin"
	data := content("range", 1000)
	mustSave(t, s, key, data, nil)
	tests := []struct {
		offset, length int64
		want           []byte
	}{
		{0, 10, data[:10]},
		{10, 20, data[10:30]},
		{990, 10, data[990:]},
		{995, 10, data[995:]},
		{990, -1, data[990:]},
		{0, -1, data},
		{0, 1000, data},
		{500, 0, nil},
		{1000, -1, nil},
		{1000, 5, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d+%d", tt.offset, tt.length), func(t *testing.T) {
			rc, err := s.OpenRange(t.Context(), key, tt.offset, tt.length)
			if err != nil {
				t.Fatalf("OpenRange: %v", err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("OpenRange(%d, %d) = %d bytes %.20q, want %d bytes %.20q",
					tt.offset, tt.length, len(got), got, len(tt.want), tt.want)
			}
		})
	}
}

func testList(t *testing.T, h Harness) {
	s := h.New(t, false)
	// The keys around "list/b" order '-' and '.' before '/': a listing that walks
	// directories must still give byte order ("list/b.txt" < "list/b/c.txt").
	keys := []string{
		"list.txt",
		"lisx.txt",
		"list/a.txt",
		"list/b-c.txt",
		"list/b.txt",
		"list/b/c.txt",
		"list/b/d.txt",
		"list/ba.txt",
		"list/bb/e.txt",
		"list/c.txt",
		"other/list/x.txt",
	}
	// Enough objects in one directory that listing it crosses pages.
	paged := 2*h.ListPageSize + 1
	for i := range paged {
		keys = append(keys, fmt.Sprintf("list/p/obj-%03d.txt", i))
	}
	sizes := map[string]int64{}
	for i, k := range keys {
		data := content(k, 10+i)
		sizes[k] = int64(len(data))
		if got := mustSave(t, s, k, data, nil); got != k {
			t.Fatalf("Save(%q) = %q", k, got)
		}
	}

	under := func(prefix string) []string {
		var out []string
		for _, k := range sortedCopy(keys) {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
		return out
	}
	for _, prefix := range []string{
		"", "list/", "list", "list/b", "list/b/", "list/b.", "list/p/", "list/p/obj-00",
		"li", "other/", "nothing/", "list/zz", "list/b/c.txt",
	} {
		t.Run(fmt.Sprintf("%q", prefix), func(t *testing.T) {
			attrs := listAll(t, s, prefix)
			var got []string
			for _, a := range attrs {
				got = append(got, a.Key)
				if want, ok := sizes[a.Key]; !ok {
					t.Errorf("List gave key %q, which was never saved", a.Key)
				} else if a.Size != want {
					t.Errorf("List: %s has size %d, want %d", a.Key, a.Size, want)
				}
			}
			if want := under(prefix); !slices.Equal(got, want) {
				t.Errorf("List(%q) =\n%q\nwant\n%q", prefix, got, want)
			}
		})
	}
}

func testListStops(t *testing.T, h Harness) {
	s := h.New(t, false)
	n := 2*h.ListPageSize + 2
	for i := range n {
		mustSave(t, s, fmt.Sprintf("stop/%02d.txt", i), []byte("x"), nil)
	}
	errStop := errors.New("storagetest: stop listing")
	for _, stopAt := range []int{1, h.ListPageSize + 1, n} {
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
			var seen []string
			err := s.List(t.Context(), "stop/", func(a *storage.Attributes) error {
				seen = append(seen, a.Key)
				if len(seen) == stopAt {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Errorf("List error = %v, want fn's error", err)
			}
			if len(seen) != stopAt {
				t.Errorf("fn called %d times, want %d (List must stop at fn's error)",
					len(seen), stopAt)
			}
			if stopAt > 0 && seen[len(seen)-1] != fmt.Sprintf("stop/%02d.txt", stopAt-1) {
				t.Errorf("last key seen = %q, want the %dth in order", seen[len(seen)-1], stopAt)
			}
		})
	}
}
