package riak

import (
	"context"
	"slices"

	"github.com/xmppd/xmppd/storage"
)

// documents is storage.Documents on the allow_mult, dvv_enabled bucket
// type: bucket "<prefix><kind>", key the user. Riak keeps concurrent
// writes as siblings and the vclock is the causal context.
type documents struct{ b *Backend }

func (d documents) loc(k storage.Key) loc {
	return loc{d.b.cfg.DocumentsBucketType, d.b.kindBucket(k.Kind), k.User}
}

// Get returns every live sibling and the object's vclock. Tombstone
// siblings (a delete concurrent with a write) are left out.
func (d documents) Get(ctx context.Context, k storage.Key) (storage.Document, error) {
	if err := validKey("documents get", k); err != nil {
		return storage.Document{}, err
	}
	resp, err := d.b.fetch(ctx, "documents_get", d.loc(k), false)
	if err != nil {
		return storage.Document{}, err
	}
	sibs := liveValues(resp)
	if len(sibs) == 0 {
		return storage.Document{}, nil
	}
	d.b.metrics.siblings.Observe(float64(len(sibs)))
	return storage.Document{Siblings: sibs, Context: resp.VClock}, nil
}

// Put stores value with the vclock causal: Riak replaces the siblings that
// the vclock covers and keeps the others beside the new value.
func (d documents) Put(ctx context.Context, k storage.Key, causal, value []byte) error {
	if err := validKey("documents put", k); err != nil {
		return err
	}
	if err := d.b.checkSize("documents put", k, value); err != nil {
		return err
	}
	return d.b.store(ctx, "documents_put", d.loc(k), value, storeOpts{vclock: causal})
}

// Delete writes a tombstone over every sibling Riak holds.
func (d documents) Delete(ctx context.Context, k storage.Key) error {
	if err := validKey("documents delete", k); err != nil {
		return err
	}
	return d.b.remove(ctx, "documents_delete", d.loc(k), nil)
}

// List lists the keys of the kind's bucket (see the package doc on
// list-keys).
func (d documents) List(ctx context.Context, kind string) ([]string, error) {
	if err := validKind("documents list", kind); err != nil {
		return nil, err
	}
	return d.b.listLive(ctx, "documents_list", d.b.cfg.DocumentsBucketType, d.b.kindBucket(kind))
}

func sortStrings(s []string) { slices.Sort(s) }
