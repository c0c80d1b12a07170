package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
	"github.com/xmppd/xmppd/storage/riak"
)

// Storage backends selectable with storage.backend.
const (
	backendEmbedded = "embedded"
	backendRiak     = "riak"
)

// storeDir is the embedded store's directory inside the data directory.
const storeDir = "store"

// StorageConfig selects and configures the storage backend.
type StorageConfig struct {
	// Backend is "embedded" (single node, in the data directory) or
	// "riak" (a Riak KV cluster, for several nodes).
	Backend  string         `toml:"backend"`
	Embedded EmbeddedConfig `toml:"embedded"`
	Riak     riak.Config    `toml:"riak"`
}

// EmbeddedConfig tunes the embedded store (package storage/pebble). Zero
// values mean that package's defaults.
type EmbeddedConfig struct {
	// CacheBytes is the block cache size (default 64 MiB).
	CacheBytes int64 `toml:"cache_bytes"`
	// MemtableBytes is the write buffer size (default 16 MiB).
	MemtableBytes int64 `toml:"memtable_bytes"`
	// MaxValueBytes bounds one stored value (default 8 MiB).
	MaxValueBytes int `toml:"max_value_bytes"`
	// ArchiveSync is how long a message-archive append may wait for the
	// fsync that makes it survive a crash (default 100ms; "-1s":
	// each append waits for its own). Other writes always sync first.
	ArchiveSync c2s.Duration `toml:"archive_sync"`
}

func defaultStorageConfig() StorageConfig {
	return StorageConfig{Backend: backendEmbedded}
}

// validate checks the section of the selected backend only, so that a
// riak section may stay in the file while the embedded store is used.
func (c StorageConfig) validate() error {
	switch c.Backend {
	case backendEmbedded:
		e := c.Embedded
		var errs []error
		for _, f := range []struct {
			key string
			v   int64
		}{{"cache_bytes", e.CacheBytes}, {"memtable_bytes", e.MemtableBytes}, {"max_value_bytes", int64(e.MaxValueBytes)}} {
			if f.v < 0 {
				errs = append(errs, fmt.Errorf("storage.embedded.%s: must not be negative", f.key))
			}
		}
		if e.MaxValueBytes != 0 && e.MaxValueBytes < 64<<10 {
			errs = append(errs, errors.New("storage.embedded.max_value_bytes: must be at least 65536 (a stanza must fit)"))
		}
		return errors.Join(errs...)
	case backendRiak:
		if err := c.Riak.Validate(); err != nil {
			// riak names its keys "riak: key: …"; say where they live here.
			return errors.New("storage.riak." + strings.TrimPrefix(err.Error(), "riak: "))
		}
		return nil
	default:
		return fmt.Errorf("storage.backend: %q must be %q or %q", c.Backend, backendEmbedded, backendRiak)
	}
}

// storeOptions are the run-time surroundings of a backend.
type storeOptions struct {
	log     *slog.Logger
	metrics prometheus.Registerer // nil: the backend's metrics are not exported
	// wait lets the embedded store wait briefly for its lock (a server
	// restarting); user commands must not wait, to report a running server.
	wait bool
}

// errStoreLocked says the embedded store is held by another process.
var errStoreLocked = pebble.ErrLocked

// riakOpenTimeout bounds connecting to the cluster at start.
const riakOpenTimeout = 30 * time.Second

// openStorage opens the configured backend.
func openStorage(cfg Config, o storeOptions) (storage.Backend, error) {
	switch cfg.Storage.Backend {
	case backendRiak:
		rc := cfg.Storage.Riak
		rc.Logger = o.log
		rc.Registerer = o.metrics
		ctx, cancel := context.WithTimeout(context.Background(), riakOpenTimeout)
		defer cancel()
		return riak.Open(ctx, rc)
	default:
		e := cfg.Storage.Embedded
		opts := pebble.Options{
			MaxValueSize: e.MaxValueBytes,
			CacheSize:    e.CacheBytes,
			MemTableSize: uint64(e.MemtableBytes),
			ArchiveSync:  time.Duration(e.ArchiveSync),
			Logger:       o.log,
		}
		if !o.wait {
			opts.LockTimeout = -1
		}
		return pebble.Open(filepath.Join(cfg.DataDir, storeDir), opts)
	}
}
