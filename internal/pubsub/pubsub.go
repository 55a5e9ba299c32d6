// Package pubsub is the one fan-out helper: a bounded, non-blocking
// publish to any number of subscribers, each with its own queue. A
// subscriber that falls behind loses values (reported through OnDrop);
// it never blocks the publisher or the others.
package pubsub

import "sync"

// Hub fans values of type T out to its subscribers. The zero value is not
// usable; call New. Its methods are safe for concurrent use.
type Hub[T any] struct {
	buffer int
	onDrop func(subscriber int, v T)

	mu sync.Mutex
	// mu guards:
	subs map[int]chan T
	next int
}

// New returns a Hub whose subscribers each queue up to buffer values
// (at least 1). onDrop, if not nil, is told of every value a full queue
// lost; it runs with the Hub locked and must not call back into it.
func New[T any](buffer int, onDrop func(subscriber int, v T)) *Hub[T] {
	return &Hub[T]{buffer: max(buffer, 1), onDrop: onDrop, subs: map[int]chan T{}}
}

// Subscribe returns a new subscriber's channel and the function that ends
// the subscription: it closes the channel and may be called more than once.
func (h *Hub[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, h.buffer)
	h.mu.Lock()
	id := h.next
	h.next++
	h.subs[id] = ch
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, id)
			h.mu.Unlock()
			close(ch)
		})
	}
}

// Publish queues v for every subscriber, without waiting.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, ch := range h.subs {
		select {
		case ch <- v:
		default:
			if h.onDrop != nil {
				h.onDrop(id, v)
			}
		}
	}
}

// Len is the number of live subscriptions.
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
