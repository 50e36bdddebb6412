package query

import (
	"context"
	"testing"

	"github.com/pipelens/pipelens/schemas"
)

// A memoized read runs once per version and key, again for a new publication,
// and every time outside a request's version.
func TestMemoizedPerVersion(t *testing.T) {
	s := &Service{memo: &memo{m: map[string]any{}}}
	runs := 0
	read := func(ctx context.Context) (int, error) {
		runs++
		return runs, nil
	}
	v1 := AsOf(context.Background(), schemas.Version{Pub: 1})
	v2 := AsOf(context.Background(), schemas.Version{Pub: 2})
	for i, c := range []struct {
		ctx  context.Context
		want int
	}{{v1, 1}, {v1, 1}, {v2, 2}, {v1, 1}, {v2, 2}, {context.Background(), 3}, {context.Background(), 4}} {
		if got, _ := memoized(c.ctx, s, "k", read); got != c.want {
			t.Fatalf("read %d: got %d, want %d", i, got, c.want)
		}
	}
}
