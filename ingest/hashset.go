package ingest

import (
	"syscall"
	"unsafe"
)

// hashSet is a set of 64-bit key hashes (open addressing, linear probing), for the
// in-file duplicate check. At 8 bytes a slot and up to 7/8 full it holds a 6.5M-row
// file's keys in 64 MiB, where a map[uint64]struct{} takes about twice that.
//
// A big table lives outside the Go heap (an anonymous mapping, as
// VictoriaMetrics/fastcache does for its buckets): it holds no pointers, and on the
// heap it would count toward the garbage collector's goal, letting the heap grow by
// as much again. free must be called when the load ends.
type hashSet struct {
	slots  []uint64 // 0 marks a free slot; a hash of 0 is stored as 1
	n      int
	mapped []byte // the mapping under slots, if any
}

// offHeapSlots is the table size from which slots are mapped rather than allocated.
const offHeapSlots = 1 << 17 // 1 MiB

// add inserts h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if s.n+1 > len(s.slots)/8*7 {
		s.resize(max(1024, 2*len(s.slots)))
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

// reserve sizes the set for n keys at once, so that a big file's set is not
// rebuilt (and briefly held twice) as it grows.
func (s *hashSet) reserve(n int) {
	size := 1024
	for size/8*7 < n {
		size *= 2
	}
	if size > len(s.slots) {
		s.resize(size)
	}
}

func (s *hashSet) resize(size int) {
	old, oldMap := s.slots, s.mapped
	s.slots, s.mapped = nil, nil
	if size >= offHeapSlots {
		if m, err := syscall.Mmap(-1, 0, size*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE); err == nil {
			s.mapped = m
			s.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(m))), size)
		}
	}
	if s.slots == nil {
		s.slots = make([]uint64, size)
	}
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
	if oldMap != nil {
		_ = syscall.Munmap(oldMap)
	}
}

// free releases the table; the set is empty afterwards.
func (s *hashSet) free() {
	if s.mapped != nil {
		_ = syscall.Munmap(s.mapped)
	}
	s.slots, s.mapped, s.n = nil, nil, 0
}
