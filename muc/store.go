package muc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/storage"
)

// Kind is the storage kind of persistent rooms: one KV value per room,
// keyed by the room's bare JID.
const Kind = "muc_room"

// storedRoom is what a persistent room keeps across restarts.
type storedRoom struct {
	Version     int               `json:"v"`
	Config      roomConfig        `json:"config"`
	Affiliation map[string]string `json:"affiliations,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	SubjectFrom string            `json:"subject_from,omitempty"`
	HasSubject  bool              `json:"has_subject,omitempty"`
}

const storeTimeout = 5 * time.Second

// persist writes a persistent room's configuration, affiliations and
// subject; rm is locked, so writes of one room are ordered. A failed write
// is logged and counted: the room goes on in memory.
func (svc *Service) persist(rm *Room) {
	if svc.store == nil || !rm.cfg.Persistent || rm.gone {
		return
	}
	sr := storedRoom{Version: 1, Config: rm.cfg, Affiliation: map[string]string{},
		Subject: rm.subject, SubjectFrom: rm.subjectFrom, HasSubject: rm.hasSubject}
	for j, a := range rm.affs {
		sr.Affiliation[j] = a.String()
	}
	b, err := json.Marshal(sr)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err = svc.store.Put(ctx, storage.Key{Kind: Kind, User: rm.key}, b)
		cancel()
	}
	if err != nil {
		svc.m.storeErrs.Inc()
		svc.log.Error("storing room failed", "room", rm.key, "err", err)
	}
}

// unpersist forgets a room's stored state.
func (svc *Service) unpersist(rm *Room) {
	if svc.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := svc.store.Delete(ctx, storage.Key{Kind: Kind, User: rm.key}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		svc.m.storeErrs.Inc()
		svc.log.Error("deleting stored room failed", "room", rm.key, "err", err)
	}
}

// Load restores the persistent rooms from the store. Call it once, before
// the server starts serving.
func (svc *Service) Load(ctx context.Context) error {
	if svc.store == nil {
		return nil
	}
	keys, err := svc.store.List(ctx, Kind)
	if err != nil {
		return fmt.Errorf("muc: list rooms: %w", err)
	}
	for _, k := range keys {
		b, err := svc.store.Get(ctx, storage.Key{Kind: Kind, User: k})
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("muc: load room %s: %w", k, err)
		}
		rm, err := decodeRoom(k, b)
		if err != nil {
			svc.m.storeErrs.Inc()
			svc.log.Error("skipping stored room that does not decode", "room", k, "err", err)
			continue
		}
		if _, created := svc.rooms.getOrCreate(rm.key, func() *Room { return rm }); created {
			svc.m.rooms.Inc()
		}
	}
	return nil
}

func decodeRoom(key string, b []byte) (*Room, error) {
	j, err := jid.Parse(key)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return nil, fmt.Errorf("not a room JID: %q", key)
	}
	var sr storedRoom
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, err
	}
	if sr.Version != 1 {
		return nil, fmt.Errorf("unknown version %d", sr.Version)
	}
	rm := newRoom(j)
	rm.cfg = sr.Config
	rm.cfg.Persistent = true
	if rm.cfg.AllowPM == "" {
		rm.cfg.AllowPM = "anyone"
	}
	for u, a := range sr.Affiliation {
		af, ok := parseAffiliation(a)
		if !ok {
			return nil, fmt.Errorf("unknown affiliation %q", a)
		}
		rm.setAffiliation(u, af)
	}
	rm.subject, rm.subjectFrom, rm.hasSubject = sr.Subject, sr.SubjectFrom, sr.HasSubject
	return rm, nil
}
