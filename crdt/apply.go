package crdt

// covered reports whether the version vector covers dot.
func (d *Doc) covered(dot OpID) bool {
	v, ok := d.vv[dot.Writer]
	return ok && dot.TS <= v
}

// seen reports whether dot is in the causal context: covered by the
// version vector, the ID of a logged op, or superseded by one.
func (d *Doc) seen(dot OpID) bool {
	if d.covered(dot) {
		return true
	}
	if _, ok := d.log[dot]; ok {
		return true
	}
	_, ok := d.removed[dot]
	return ok
}

// live reports whether dot names a live entry.
func (d *Doc) live(dot OpID) bool {
	if _, ok := d.where[dot]; ok {
		return true
	}
	for _, e := range d.docFields {
		if e.dot == dot {
			return true
		}
	}
	return false
}

// bump records ts as seen for its writer.
func (d *Doc) bump(id OpID) {
	if id.TS > d.wmax[id.Writer] {
		d.wmax[id.Writer] = id.TS
	}
	if id.TS > d.maxTS {
		d.maxTS = id.TS
	}
}

// apply merges the effect of o into d: the delta-state join of the
// document {o's entry; context {o.id} ∪ o.removes}. It reports false, doing
// nothing, if d has seen o already.
func (d *Doc) apply(o *op) bool {
	if d.covered(o.id) {
		return false
	}
	if _, ok := d.log[o.id]; ok {
		return false
	}
	d.log[o.id] = o
	d.bump(o.id)
	for _, r := range o.removes {
		d.kill(r)
		if !d.covered(r) {
			d.removed[r] = struct{}{}
		}
		d.bump(r)
	}
	if _, dead := d.removed[o.id]; dead {
		return true
	}
	switch o.kind {
	case opAdd:
		d.insert(o.key, entry{dot: o.id})
	case opSet:
		d.insert(o.key, entry{dot: o.id, isField: true, field: o.field, value: o.value})
	case opSetDoc:
		d.docFields = append(d.docFields, entry{dot: o.id, isField: true, field: o.field, value: o.value})
	}
	return true
}

// insert adds a live entry to key.
func (d *Doc) insert(key string, e entry) {
	es := d.elems[key]
	if len(es) == 0 {
		d.sorted = nil
	}
	d.elems[key] = append(es, e)
	d.where[e.dot] = key
}

// kill removes the live entry named dot, if any.
func (d *Doc) kill(dot OpID) {
	key, ok := d.where[dot]
	if !ok {
		for i, e := range d.docFields {
			if e.dot == dot {
				d.docFields = deleteAt(d.docFields, i)
				return
			}
		}
		return
	}
	delete(d.where, dot)
	es := d.elems[key]
	for i, e := range es {
		if e.dot == dot {
			es = deleteAt(es, i)
			break
		}
	}
	if len(es) == 0 {
		delete(d.elems, key)
		d.sorted = nil
		return
	}
	d.elems[key] = es
}

// deleteAt removes es[i] without keeping order (entries are unordered) and
// without aliasing a slice another document may share.
func deleteAt(es []entry, i int) []entry {
	out := make([]entry, 0, len(es)-1)
	out = append(out, es[:i]...)
	return append(out, es[i+1:]...)
}
