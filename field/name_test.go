package field

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestValidNameTable runs the shared table of client file names and the names Django's
// get_valid_filename gives them (null: refused).
func TestValidNameTable(t *testing.T) {
	data, err := os.ReadFile("testdata/filenames.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Input     string  `json:"input"`
		ValidName *string `json:"valid_name"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 24 {
		t.Fatalf("testdata/filenames.json has %d rows, want 24", len(rows))
	}
	for _, row := range rows {
		t.Run(row.Input, func(t *testing.T) {
			checkValidName(t, row.Input, row.ValidName)
		})
	}
}

// TestValidName covers the base name step and characters the shared table lacks. The
// expected names were computed with Python 3.11's str.strip and re.sub(r"(?u)[^-\w.]").
func TestValidName(t *testing.T) {
	ptr := func(s string) *string { return &s }
	tests := []struct {
		in   string
		want *string
	}{
		{"a/b/c.txt", ptr("c.txt")},
		{`C:\Users\me\cfg.txt`, ptr("cfg.txt")},
		{"x/../../y.txt", ptr("y.txt")},
		{"../../etc/passwd", ptr("passwd")},
		{`mixed/dirs\and\name.bin`, ptr("name.bin")},
		{"a/b/..", nil},
		{`a\b\..`, nil},
		{"a/b/.", nil},
		{"dir/", nil},
		{`dir\`, nil},
		{"/", nil},
		{"e\u0301te\u0301.txt", ptr("ete.txt")}, // combining accents are not \w
		{"\u00e9t\u00e9.txt", ptr("\u00e9t\u00e9.txt")},
		{"\x1c report .txt\x1f", ptr("report_.txt")}, // Python strips U+001C-U+001F
		{"\u3000全角\u3000スペース.txt", ptr("全角スペース.txt")},
		{"Ⅻ½²٣.txt", ptr("Ⅻ½²٣.txt")},   // Nl, No and Nd are \w
		{"ǅemal.txt", ptr("ǅemal.txt")}, // title case letter
		{"a\u200db.txt", ptr("ab.txt")}, // zero width joiner
		{"\u00a0nb\u00a0sp\u00a0.txt", ptr("nbsp.txt")},
		{"x\x00y.txt", ptr("xy.txt")},
		{"ıİß.txt", ptr("ıİß.txt")},
		{"-.-", ptr("-.-")},
		{"...", ptr("...")},
		{". .", ptr("._.")},
		{"_", ptr("_")},
		{"\u2028", nil},
		{"   ", nil},
		{"%%%.", nil},
		{"?.?.", nil}, // cleans to ".."
		{"bad\xffutf8.txt", ptr("badutf8.txt")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) { checkValidName(t, tt.in, tt.want) })
	}
}

func checkValidName(t *testing.T, in string, want *string) {
	t.Helper()
	got, err := ValidName(in)
	if want == nil {
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Fatalf("ValidName(%q) = %q, %v; want a *NameError", in, got, err)
		}
		if ne.Name != in || !strings.HasPrefix(err.Error(), "field: invalid file name ") {
			t.Errorf("error %v (Name %q) does not name %q", err, ne.Name, in)
		}
		return
	}
	if err != nil || got != *want {
		t.Errorf("ValidName(%q) = %q, %v; want %q", in, got, err, *want)
	}
}

func TestNameErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *NameError
		want string
	}{
		{"short", &NameError{Name: "..", Reason: "r"}, `field: invalid file name "..": r`},
		{"long cut on a rune", &NameError{Name: strings.Repeat("é", 150), Reason: "r"},
			`field: invalid file name "` + strings.Repeat("é", 100) + `"...: r`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func ExampleValidName() {
	for _, name := range []string{`C:\Users\me\my report (final).pdf`, "../.."} {
		clean, err := ValidName(name)
		fmt.Printf("%q %v\n", clean, err)
	}
	// Output:
	// "my_report_final.pdf" <nil>
	// "" field: invalid file name "../..": nothing usable is left after cleaning
}
