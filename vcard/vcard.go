// Package vcard stores users' vCards (XEP-0054 vcard-temp) and advertises
// their avatar hashes in presence (XEP-0153).
//
// A user reads and replaces their own vCard with an IQ to their own
// account (no 'to', or their bare JID), and reads anyone's with an IQ to
// that user's bare JID; vCards are public profile data, as in every
// vcard-temp server. Setting someone else's is forbidden. A vCard is
// stored whole, as XML, in storage.KV under {Kind: "vcard"}; Config.MaxBytes
// bounds its size (<not-acceptable/> beyond). Reading one's own missing
// vCard gives an empty <vCard/>; reading a contact's missing one gives
// <item-not-found/> (XEP-0054 §3.1 allows both), which also says nothing
// about whether the account exists.
//
// Avatar hashes. When a vCard is stored, the SHA-1 (hex) of its
// PHOTO/BINVAL image — or "" when it has no photo — is stored beside it
// under {Kind: "vcard-hash"}, so that presence never reads a whole vCard.
// Each session caches its user's hash (read once, at its first available
// presence, and replaced when any resource of the user sets a vCard on
// this node). Every available presence the user sends, directed or not,
// leaves with <x xmlns='vcard-temp:x:update'><photo>hash</photo></x>
// (an empty <photo/> for a vCard without photo), replacing whatever the
// client put there: the server knows the stored vCard, the client may
// not (XEP-0153 §4.3 lets a server do this). A user who never stored a
// vCard has their presence left as their client sent it.
//
// After a vCard set, the hash cached by the user's sessions on this node
// is replaced, so the next presence any of them sends carries it; clients
// send presence again after publishing an avatar (XEP-0153 §3.1), and the
// server does not invent presence on their behalf. Sessions on other nodes
// of a cluster would keep the old hash until they reconnect.
package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// Namespaces and storage kinds.
const (
	NS       = "vcard-temp"
	NSUpdate = "vcard-temp:x:update"
	Kind     = "vcard"
	HashKind = "vcard-hash"
)

// Config holds the vCard limits. The zero value means the defaults.
type Config struct {
	// MaxBytes bounds a stored vCard's XML (default 64 KiB).
	MaxBytes int `toml:"max_bytes"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.MaxBytes < 0 {
		return errors.New("vcard: negative max_bytes")
	}
	return nil
}

func (c Config) maxBytes() int {
	if c.MaxBytes == 0 {
		return 64 << 10
	}
	return c.MaxBytes
}

// Options are the collaborators of a Service.
type Options struct {
	KV      storage.KV            // required
	Metrics prometheus.Registerer // required
	Log     *slog.Logger
	Config  Config
}

// A Service is the vCard feature. It is safe for concurrent use.
type Service struct {
	kv  storage.KV
	cfg Config
	log *slog.Logger
	m   *vcardMetrics
}

var _ c2s.Feature = (*Service)(nil)

// photoHash is a session's cached view of its user's avatar: known says a
// vCard is stored at all.
type photoHash struct {
	known bool
	hash  string
}

var hashSlot = c2s.NewSlot[photoHash]()

// New returns a vCard Service.
func New(opts Options) (*Service, error) {
	if opts.KV == nil || opts.Metrics == nil {
		return nil, errors.New("vcard: Options need KV and Metrics")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("vcard: metrics: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{kv: opts.KV, cfg: opts.Config, log: log.With("feature", "vcard"), m: m}, nil
}

// Register declares the vCard handlers and the presence decorator.
func (s *Service) Register(r *c2s.Registry) error {
	r.HandleIQ(NS, c2s.ToSelf, s.handleOwn)
	r.HandleIQ(NS, c2s.ToContact, s.handleContact)
	r.DecoratePresence(s.decorate)
	r.ServerFeature(NS)
	r.AccountFeature(NS)
	return nil
}

func (s *Service) handleOwn(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	if err := checkPayload(iq.Payload); err != nil {
		return nil, err
	}
	owner := iq.From.Bare().String()
	if iq.Type == "get" {
		v, err := s.load(ctx, owner)
		if errors.Is(err, storage.ErrNotFound) {
			return stanza.New(NS, "vCard"), nil
		}
		return v, err
	}
	hash, err := s.store(ctx, owner, iq.Payload)
	if err != nil {
		return nil, err
	}
	s.cacheHash(iq.Session.Server().Directory(), owner, photoHash{known: true, hash: hash})
	return nil, nil
}

func (s *Service) handleContact(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	if err := checkPayload(iq.Payload); err != nil {
		return nil, err
	}
	if iq.Type == "set" {
		return nil, c2s.Forbidden("a vCard is set by its owner")
	}
	v, err := s.load(ctx, iq.To.Bare().String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, c2s.ItemNotFound("no vCard")
	}
	return v, err
}

func checkPayload(p *stanza.Element) error {
	if p.Name.Local != "vCard" {
		return c2s.BadRequest("expected <vCard xmlns='vcard-temp'/>")
	}
	return nil
}

// load returns user's stored vCard; storage.ErrNotFound when there is
// none.
func (s *Service) load(ctx context.Context, user string) (*stanza.Element, error) {
	b, err := s.kv.Get(ctx, storage.Key{Kind: Kind, User: user})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		s.m.errors.Inc()
		return nil, fmt.Errorf("vcard: load %s: %w", user, err)
	}
	v, err := stanza.Parse(b, 64)
	if err != nil {
		return nil, fmt.Errorf("vcard: stored vCard of %s: %w", user, err)
	}
	s.m.reads.Inc()
	return v, nil
}

// store saves v as user's vCard and its photo hash, returning the hash.
func (s *Service) store(ctx context.Context, user string, v *stanza.Element) (string, error) {
	b := []byte(v.String())
	if len(b) > s.cfg.maxBytes() {
		s.m.tooLarge.Inc()
		return "", c2s.NotAcceptable(fmt.Sprintf("a vCard may hold at most %d bytes", s.cfg.maxBytes()))
	}
	hash, err := PhotoHash(v)
	if err != nil {
		return "", c2s.BadRequest("PHOTO/BINVAL is not base64")
	}
	// The hash goes first: a failure between the two writes leaves a hash
	// that the next set corrects, never a photo nobody is told about.
	if err := s.kv.Put(ctx, storage.Key{Kind: HashKind, User: user}, []byte(hash)); err != nil {
		s.m.errors.Inc()
		return "", fmt.Errorf("vcard: store hash of %s: %w", user, err)
	}
	if err := s.kv.Put(ctx, storage.Key{Kind: Kind, User: user}, b); err != nil {
		s.m.errors.Inc()
		if errors.Is(err, storage.ErrTooLarge) {
			return "", c2s.NotAcceptable("the vCard is too large to store")
		}
		return "", fmt.Errorf("vcard: store %s: %w", user, err)
	}
	s.m.writes.Inc()
	return hash, nil
}

// PhotoHash returns the XEP-0153 hash of v's photo: the lower-case hex
// SHA-1 of the decoded PHOTO/BINVAL, or "" when there is none.
func PhotoHash(v *stanza.Element) (string, error) {
	photo := v.Child(NS, "PHOTO")
	if photo == nil {
		return "", nil
	}
	val := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, photo.ChildText(NS, "BINVAL"))
	if val == "" {
		return "", nil
	}
	img, err := base64.StdEncoding.DecodeString(val)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum(img)
	return hex.EncodeToString(sum[:]), nil
}
