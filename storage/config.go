package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config holds a storage's settings under the names an operator already uses with
// django-storages (AWS_STORAGE_BUCKET_NAME, AWS_LOCATION, MEDIA_ROOT, ...). Values may
// be JSON strings, numbers or booleans; the getters convert.
type Config map[string]any

// ParseConfig reads a JSON object. Empty input gives an empty Config.
func ParseConfig(data string) (Config, error) {
	cfg := Config{}
	if strings.TrimSpace(data) == "" {
		return cfg, nil
	}
	if err := json.Unmarshal([]byte(data), &cfg); err != nil {
		return nil, fmt.Errorf("storage config: not a JSON object: %w", err)
	}
	return cfg, nil
}

// String returns the setting as a string, or def when it is absent or null.
func (c Config) String(key, def string) (string, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64, bool, int, int64:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("storage config: %s: want a string, have %T", key, v)
}

// Bool returns the setting as a boolean; it accepts JSON booleans and the strings
// true/false, True/False, 1/0, yes/no.
func (c Config) Bool(key string, def bool) (bool, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case float64:
		return v != 0, nil
	case int:
		return v != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			return true, nil
		case "0", "false", "no", "off", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("storage config: %s: want a boolean, have %v", key, v)
}

// Int returns the setting as an integer; it accepts JSON numbers and decimal strings.
func (c Config) Int(key string, def int64) (int64, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case float64:
		if v == float64(int64(v)) {
			return int64(v), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("storage config: %s: want an integer, have %v", key, v)
}

// Seconds returns an integer setting counted in seconds as a duration.
func (c Config) Seconds(key string, def time.Duration) (time.Duration, error) {
	n, err := c.Int(key, int64(def/time.Second))
	return time.Duration(n) * time.Second, err
}

// StringMap returns an object setting of string values.
func (c Config) StringMap(key string) (map[string]string, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("storage config: %s: want an object, have %T", key, v)
	}
	m := make(map[string]string, len(obj))
	for k, x := range obj {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("storage config: %s.%s: want a string, have %T", key, k, x)
		}
		m[k] = s
	}
	return m, nil
}

// With returns a copy of c with the given settings replaced.
func (c Config) With(kv map[string]any) Config {
	out := make(Config, len(c)+len(kv))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range kv {
		out[k] = v
	}
	return out
}

// OpenFunc builds a storage from its settings.
type OpenFunc func(ctx context.Context, cfg Config) (Storage, error)

var (
	backendsMu sync.RWMutex
	backends   = map[string]OpenFunc{}
)

// Register makes a backend available to [Open] under each of names (for example "s3"
// and the django-storages class path "storages.backends.s3boto3.S3Boto3Storage").
// Backend packages call it from init; it panics when a name is taken twice.
func Register(open OpenFunc, names ...string) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	for _, name := range names {
		if _, dup := backends[name]; dup {
			panic("storage: backend " + name + " registered twice")
		}
		backends[name] = open
	}
}

// Open builds the storage of the named backend from cfg. The backend's package must be
// imported (for its init) by the program.
func Open(ctx context.Context, backend string, cfg Config) (Storage, error) {
	backendsMu.RLock()
	open, ok := backends[backend]
	backendsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("storage: unknown backend %q (known: %s)", backend,
			strings.Join(Backends(), ", "))
	}
	return open(ctx, cfg)
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	names := make([]string, 0, len(backends))
	for name := range backends {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
