package storage

import (
	"testing"
	"time"
)

func TestConfigGetters(t *testing.T) {
	cfg, err := ParseConfig(`{"s":"x","n":3,"b":"False","t":true,"sec":"60"}`)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.With(map[string]any{"gi": 7, "gb": 1})
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"string", must(cfg.String("s", "")), "x"},
		{"string default", must(cfg.String("missing", "d")), "d"},
		{"number as string", must(cfg.String("n", "")), "3"},
		{"bool from string", must(cfg.Bool("b", true)), false},
		{"bool", must(cfg.Bool("t", false)), true},
		{"bool from Go int", must(cfg.Bool("gb", false)), true},
		{"int", must(cfg.Int("n", 0)), int64(3)},
		{"int from Go int", must(cfg.Int("gi", 0)), int64(7)},
		{"seconds", must(cfg.Seconds("sec", 0)), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	if _, err := cfg.Bool("s", false); err == nil {
		t.Error(`Bool("x") gave no error`)
	}
	if _, err := ParseConfig(`[1]`); err == nil {
		t.Error("a JSON array gave no error")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
