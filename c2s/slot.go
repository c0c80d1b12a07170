package c2s

import "sync/atomic"

// A Slot holds one feature's per-session state (carbons enabled, active
// privacy list, client state…) without adding fields to Session. Create
// slots once, at package level or in Register.
type Slot[T any] struct{ id uint64 }

var slotSeq atomic.Uint64

// NewSlot returns a new, distinct slot.
func NewSlot[T any]() Slot[T] { return Slot[T]{id: slotSeq.Add(1)} }

// Get returns the session's value and whether one was set. Safe for
// concurrent use.
func (sl Slot[T]) Get(s *Session) (T, bool) {
	v, ok := s.slots.Load(sl.id)
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true
}

// Set stores the session's value. Safe for concurrent use.
func (sl Slot[T]) Set(s *Session, v T) { s.slots.Store(sl.id, v) }

// Delete removes the session's value.
func (sl Slot[T]) Delete(s *Session) { s.slots.Delete(sl.id) }
