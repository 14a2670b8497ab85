package field_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/field"
)

func TestParseImageSettings(t *testing.T) {
	tests := []struct {
		tag     string
		want    field.Settings // only the image rules and renditions are compared
		wantErr string
	}{
		{tag: "renditions:thumb=200x200,card=600x0", want: field.Settings{
			Renditions: []field.Rendition{{"thumb", 200, 200}, {"card", 600, 0}}}},
		{tag: "renditions: a_1 = 0X44 , b-2=10x10", want: field.Settings{
			Renditions: []field.Rendition{{"a_1", 0, 44}, {"b-2", 10, 10}}}},
		{tag: "max_bytes:5000000;min_width:10;max_width:4000;min_height:20;max_height:3000",
			want: field.Settings{MaxBytes: 5000000, MinWidth: 10, MaxWidth: 4000,
				MinHeight: 20, MaxHeight: 3000}},
		{tag: "min_width:300;max_width:300", want: field.Settings{MinWidth: 300, MaxWidth: 300}},

		{tag: "renditions:", wantErr: "want NAME=WIDTHxHEIGHT"},
		{tag: "renditions:thumb", wantErr: "want NAME=WIDTHxHEIGHT"},
		{tag: "renditions:thumb=200", wantErr: "want NAME=WIDTHxHEIGHT"},
		{tag: "renditions:thumb=200x200,", wantErr: "want NAME=WIDTHxHEIGHT"},
		{tag: "renditions:thumb=ax2", wantErr: "numbers of pixels"},
		{tag: "renditions:thumb=-1x2", wantErr: "numbers of pixels"},
		{tag: "renditions:thumb=70000x2", wantErr: "numbers of pixels"},
		{tag: "renditions:thumb=0x0", wantErr: "want a positive width, height or both"},
		{tag: "renditions:thumb=1x1,card=2x2,thumb=3x3", wantErr: `rendition "thumb" declared twice`},
		{tag: "renditions:Thumb=1x1", wantErr: `rendition name "Thumb"`},
		{tag: "renditions:a.b=1x1", wantErr: `rendition name "a.b"`},
		{tag: "renditions:=1x1", wantErr: `rendition name ""`},
		{tag: "max_bytes:0", wantErr: "max_bytes: want a positive number"},
		{tag: "max_bytes:1k", wantErr: "max_bytes: want a positive number"},
		{tag: "min_width:-3", wantErr: "min_width: want a positive number"},
		{tag: "max_height:99999999999", wantErr: "max_height: want a positive number"},
		{tag: "min_width:300;max_width:200", wantErr: "min_width 300 is above max_width 200"},
		{tag: "min_height:300;max_height:200", wantErr: "min_height 300 is above max_height 200"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			s, err := field.ParseSettings(tt.tag, 0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := field.Settings{MaxBytes: s.MaxBytes, MinWidth: s.MinWidth,
				MaxWidth: s.MaxWidth, MinHeight: s.MinHeight, MaxHeight: s.MaxHeight,
				Renditions: s.Renditions}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("settings %+v, want %+v", got, tt.want)
			}
		})
	}
}

// shop sets its logo's settings in Go.
type shop struct{}

func (*shop) FileSettings(name string, s *field.Settings) {
	if name == "Logo" {
		s.MaxBytes = 1 << 20
		s.Formats = append(s.Formats[:1], "svg")
		s.Renditions = append(s.Renditions, field.Rendition{Name: "icon", Width: 32, Height: 32})
	}
	if name == "Broken" {
		s.Renditions = []field.Rendition{{Name: "Big Icon", Width: 1}}
		s.MinWidth = -1
	}
}

func TestResolveSettings(t *testing.T) {
	defaults := slices.Clone(field.DefaultImageFormats)
	s, err := field.ResolveSettings(&shop{}, "Logo", "upload_to:logos;renditions:thumb=200x0", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []field.Rendition{{"thumb", 200, 0}, {"icon", 32, 32}}
	if s.UploadTo != "logos" || s.MaxBytes != 1<<20 || !reflect.DeepEqual(s.Renditions, want) ||
		!slices.Equal(s.Formats, []string{"png", "svg"}) {
		t.Errorf("settings %+v", s)
	}
	if !slices.Equal(field.DefaultImageFormats, defaults) {
		t.Errorf("FileSettings changed DefaultImageFormats: %v", field.DefaultImageFormats)
	}

	// Settings set in Go are checked as tags are, every problem at once.
	_, err = field.ResolveSettings(&shop{}, "Broken", "", 0)
	if err == nil || !strings.Contains(err.Error(), `rendition name "Big Icon"`) ||
		!strings.Contains(err.Error(), "negative") {
		t.Errorf("err = %v", err)
	}

	// Other fields, and models without the method, keep their tag's settings.
	for _, model := range []any{&shop{}, nil, struct{}{}} {
		s, err := field.ResolveSettings(model, "Photo", "max_width:10", 50)
		if err != nil || s.MaxWidth != 10 || s.MaxLength != 50 || s.Renditions != nil {
			t.Errorf("%T: %+v, %v", model, s, err)
		}
	}
}
