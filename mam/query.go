package mam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// stampLayout is XEP-0082 with microseconds.
const stampLayout = "2006-01-02T15:04:05.000000Z"

// A request is a parsed archive query.
type request struct {
	queryID  string
	filter   storage.ArchiveQuery // with, start, end, before-id, after-id
	withFull string               // a full JID 'with': checked per entry
	ids      []string
	max      int
	after    string
	before   string
	last     bool // <before/> present: page backwards
	flip     bool
}

// handleIQ serves urn:xmpp:mam:2 requests to one's own account.
func (s *Service) handleIQ(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	switch iq.Payload.Name.Local {
	case "prefs":
		return s.handlePrefs(ctx, iq)
	case "query":
		if iq.Type == "get" {
			return queryForm(), nil
		}
		res, err := s.query(ctx, iq.From, iq.ID, iq.Payload, iq.Session.Send)
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		s.m.queries.WithLabelValues(outcome).Inc()
		return res, err
	}
	return nil, c2s.FeatureNotImplemented("unsupported archive request <" + iq.Payload.Name.Local + "/>")
}

// queryForm returns the XEP-0004 form of the query fields (§4.1.5).
func queryForm() *stanza.Element {
	x := stanza.New(nsData, "x", "type", "form").Append(
		stanza.New(nsData, "field", "type", "hidden", "var", "FORM_TYPE").Append(stanza.New(nsData, "value").SetText(NS)),
		stanza.New(nsData, "field", "type", "jid-single", "var", "with"),
		stanza.New(nsData, "field", "type", "text-single", "var", "start"),
		stanza.New(nsData, "field", "type", "text-single", "var", "end"),
		stanza.New(nsData, "field", "type", "text-single", "var", "before-id"),
		stanza.New(nsData, "field", "type", "text-single", "var", "after-id"),
		stanza.New(nsData, "field", "type", "text-multi", "var", "ids"),
	)
	return stanza.New(NS, "query").Append(x)
}

// parseRequest reads the form, RSM set and flip-page of a query.
func (s *Service) parseRequest(q *stanza.Element) (*request, error) {
	r := &request{queryID: q.Get("queryid"), max: s.cfg.defaultPage()}
	if x := q.Child(nsData, "x"); x != nil {
		if t := x.Get("type"); t != "submit" && t != "" {
			return nil, c2s.BadRequest("the query form must be of type submit")
		}
		for _, f := range x.Elements() {
			if f.Name.Space != nsData || f.Name.Local != "field" {
				continue
			}
			var values []string
			for _, v := range f.Elements() {
				if v.Name.Space == nsData && v.Name.Local == "value" {
					values = append(values, v.Text())
				}
			}
			one := ""
			if len(values) > 0 {
				one = values[0]
			}
			if err := r.setField(f.Get("var"), one, values); err != nil {
				return nil, err
			}
		}
	}
	if set := q.Child(nsRSM, "set"); set != nil {
		if m := set.Child(nsRSM, "max"); m != nil {
			n, err := strconv.Atoi(m.Text())
			if err != nil || n < 0 {
				return nil, c2s.BadRequest("<max/> must be a non-negative integer")
			}
			r.max = min(n, s.cfg.maxPage())
		}
		if set.Child(nsRSM, "index") != nil {
			return nil, c2s.FeatureNotImplemented("paging by index is not supported; use after and before")
		}
		r.after = set.ChildText(nsRSM, "after")
		if b := set.Child(nsRSM, "before"); b != nil {
			r.last, r.before = true, b.Text()
		}
		if r.after != "" && r.last {
			return nil, c2s.BadRequest("<after/> and <before/> together")
		}
	}
	r.flip = q.Child(NS, "flip-page") != nil
	return r, nil
}

// setField applies one form field.
func (r *request) setField(name, value string, values []string) error {
	var err error
	switch name {
	case "FORM_TYPE":
		if value != NS {
			return c2s.BadRequest("FORM_TYPE must be " + NS)
		}
	case "with":
		if value == "" {
			return nil
		}
		j, perr := jid.Parse(value)
		if perr != nil {
			return c2s.JIDMalformed("invalid 'with' JID")
		}
		r.filter.With = j.Bare().String()
		if j.Resourcepart() != "" {
			r.withFull = j.String()
		}
	case "start":
		r.filter.Start, err = parseStamp(name, value)
	case "end":
		r.filter.End, err = parseStamp(name, value)
	case "after-id":
		r.filter.AfterID = value
	case "before-id":
		r.filter.BeforeID = value
	case "ids":
		for _, v := range values {
			if v != "" && !slices.Contains(r.ids, v) {
				r.ids = append(r.ids, v)
			}
		}
	default:
		return c2s.BadRequest(fmt.Sprintf("unsupported query field %q", name))
	}
	return err
}

func parseStamp(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, c2s.BadRequest(fmt.Sprintf("'%s' is not a XEP-0082 date and time", name))
	}
	return t, nil
}

// query runs an archive query: result messages to the querying resource,
// then the <fin/> payload.
func (s *Service) query(ctx context.Context, from jid.JID, iqID string, payload *stanza.Element, send func(*stanza.Element) error) (*stanza.Element, error) {
	return s.queryArchive(ctx, s.key(from.Bare().String()), "", from, iqID, payload, send)
}

// queryArchive runs a query on the archive under key; result messages go
// to the querying resource to, from the archive's owner JID resultFrom
// ("" leaves from unset: the user's own account).
func (s *Service) queryArchive(ctx context.Context, key storage.Key, resultFrom string, from jid.JID, iqID string, payload *stanza.Element, send func(*stanza.Element) error) (*stanza.Element, error) {
	r, err := s.parseRequest(payload)
	if err != nil {
		return nil, err
	}
	if s.cfg.retention() > 0 {
		if horizon := s.now().Add(-s.cfg.retention()); r.filter.Start.Before(horizon) {
			r.filter.Start = horizon
		}
	}
	for _, id := range []string{r.filter.AfterID, r.filter.BeforeID, r.after, r.before} {
		if err := s.mustExist(ctx, key, id); err != nil {
			return nil, err
		}
	}
	var page storage.ArchiveResult
	if len(r.ids) > 0 {
		page, err = s.byIDs(ctx, key, r)
	} else {
		page, err = s.page(ctx, key, r)
	}
	if err != nil {
		return nil, err
	}
	if err := s.sendResults(from, resultFrom, iqID, send, r, page.Entries); err != nil {
		return nil, err
	}
	return s.fin(ctx, key, r, page)
}

// mustExist reports item-not-found for an id the archive does not hold.
func (s *Service) mustExist(ctx context.Context, key storage.Key, id string) error {
	if id == "" {
		return nil
	}
	e, err := s.arch.Get(ctx, key, id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && s.expired(e) {
		return c2s.ItemNotFound("no archived message with id " + id)
	}
	if err != nil {
		s.m.errors.WithLabelValues("query").Inc()
		return fmt.Errorf("mam: %w", err)
	}
	return nil
}

func (s *Service) expired(e storage.ArchiveEntry) bool {
	return s.cfg.retention() > 0 && e.Time.Before(s.now().Add(-s.cfg.retention()))
}

// byIDs fetches the entries named by the ids field, in archive order.
func (s *Service) byIDs(ctx context.Context, key storage.Key, r *request) (storage.ArchiveResult, error) {
	res := storage.ArchiveResult{Complete: true}
	for _, id := range r.ids {
		if err := s.mustExist(ctx, key, id); err != nil {
			return res, err
		}
		e, err := s.arch.Get(ctx, key, id)
		if err != nil {
			return res, fmt.Errorf("mam: %w", err)
		}
		e.ID = id
		res.Entries = append(res.Entries, e)
	}
	sort.Slice(res.Entries, func(i, j int) bool { return res.Entries[i].ID < res.Entries[j].ID })
	return res, nil
}

// page selects one page of the filtered archive.
func (s *Service) page(ctx context.Context, key storage.Key, r *request) (storage.ArchiveResult, error) {
	q := r.filter
	q.Last = r.last
	if r.after != "" && r.after > q.AfterID {
		q.AfterID = r.after
	}
	if r.before != "" && (q.BeforeID == "" || r.before < q.BeforeID) {
		q.BeforeID = r.before
	}
	if r.max == 0 {
		// XEP-0059 §2.6: only the count is wanted.
		res, err := s.arch.Query(ctx, key, storage.ArchiveQuery{Start: q.Start, End: q.End, With: q.With, AfterID: q.AfterID, BeforeID: q.BeforeID, Max: 1, Last: q.Last})
		return storage.ArchiveResult{Complete: len(res.Entries) == 0}, s.storeErr(err)
	}
	q.Max = r.max
	if r.withFull == "" {
		res, err := s.arch.Query(ctx, key, q)
		return res, s.storeErr(err)
	}
	// A full JID: fetch pages of the bare JID's entries and keep those
	// exchanged with that resource until the page is full.
	var out []storage.ArchiveEntry
	for {
		res, err := s.arch.Query(ctx, key, q)
		if err != nil {
			return storage.ArchiveResult{}, s.storeErr(err)
		}
		var kept []storage.ArchiveEntry
		for _, e := range res.Entries {
			if involves(e.Data, r.withFull) {
				kept = append(kept, e)
			}
		}
		if q.Last {
			out = append(kept, out...)
		} else {
			out = append(out, kept...)
		}
		if len(out) > r.max {
			if q.Last {
				out = out[len(out)-r.max:]
			} else {
				out = out[:r.max]
			}
			return storage.ArchiveResult{Entries: out}, nil
		}
		if res.Complete || len(res.Entries) == 0 {
			return storage.ArchiveResult{Entries: out, Complete: len(out) < r.max || res.Complete}, nil
		}
		if q.Last {
			q.BeforeID = res.Entries[0].ID
		} else {
			q.AfterID = res.Entries[len(res.Entries)-1].ID
		}
	}
}

func (s *Service) storeErr(err error) error {
	if err != nil {
		s.m.errors.WithLabelValues("query").Inc()
		return fmt.Errorf("mam: %w", err)
	}
	return nil
}

// involves reports whether the archived message was sent from or to the
// full JID full.
func involves(data []byte, full string) bool {
	m, err := decode(data)
	return err == nil && (m.Get("from") == full || m.Get("to") == full)
}

// decode parses an archived message.
func decode(data []byte) (*stanza.Element, error) { return stanza.Parse(data, 64) }

// sendResults sends each entry to the querying resource (§4.2), in
// archive order, or reversed with <flip-page/>.
func (s *Service) sendResults(to jid.JID, resultFrom, iqID string, send func(*stanza.Element) error, r *request, entries []storage.ArchiveEntry) error {
	order := entries
	if r.flip {
		order = slices.Clone(entries)
		slices.Reverse(order)
	}
	for i, e := range order {
		m, err := decode(e.Data)
		if err != nil {
			s.log.Error("undecodable archive entry skipped", "jid", to.Bare().String(), "id", e.ID, "err", err)
			continue
		}
		result := stanza.New(NS, "result", "queryid", r.queryID, "id", e.ID).Append(
			stanza.New(nsForward, "forwarded").Append(
				stanza.New(nsDelay, "delay", "stamp", e.Time.UTC().Format(stampLayout)),
				m,
			),
		)
		out := stanza.New(stanza.NSClient, "message", "to", to.String(), "id", fmt.Sprintf("%s-%d", iqID, i)).Append(result)
		if resultFrom != "" {
			out.Set("from", resultFrom)
		}
		if err := send(out); err != nil {
			return fmt.Errorf("mam: sending results: %w", err)
		}
		s.m.results.Inc()
	}
	return nil
}

// fin builds the <fin/> of a query: complete on the last page, the page's
// first and last ids, and the count and index when affordable.
func (s *Service) fin(ctx context.Context, key storage.Key, r *request, page storage.ArchiveResult) (*stanza.Element, error) {
	fin := stanza.New(NS, "fin", "queryid", r.queryID)
	if page.Complete {
		fin.Set("complete", "true")
	}
	set := stanza.New(nsRSM, "set")
	fin.Append(set)
	var first *stanza.Element
	if n := len(page.Entries); n > 0 {
		first = stanza.New(nsRSM, "first").SetText(page.Entries[0].ID)
		set.Append(first, stanza.New(nsRSM, "last").SetText(page.Entries[n-1].ID))
	}
	if len(r.ids) > 0 {
		set.Append(stanza.New(nsRSM, "count").SetText(strconv.Itoa(len(page.Entries))))
		if first != nil {
			first.Set("index", "0")
		}
		return fin, nil
	}
	limit := s.cfg.countLimit()
	if limit < 0 || r.withFull != "" {
		return fin, nil
	}
	q := r.filter
	q.Max = limit + 1
	all, err := s.arch.Query(ctx, key, q)
	if err != nil {
		return nil, s.storeErr(err)
	}
	if len(all.Entries) > limit {
		return fin, nil
	}
	set.Append(stanza.New(nsRSM, "count").SetText(strconv.Itoa(len(all.Entries))))
	if first != nil {
		id := page.Entries[0].ID
		idx := sort.Search(len(all.Entries), func(i int) bool { return all.Entries[i].ID >= id })
		first.Set("index", strconv.Itoa(idx))
	}
	return fin, nil
}
