package dashboards

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestWriteJSONIsCJSON: a streamed list is byte for byte what c.JSON writes
// (HTML escaping, non-ASCII, the final newline), across chunk boundaries; a
// list whose first element cannot be encoded gets c.JSON's error, and one
// whose later element cannot is cut short, not closed as a shorter list.
func TestWriteJSONIsCJSON(t *testing.T) {
	type elem struct {
		Name  string   `json:"name"`
		Value float64  `json:"value"`
		Tags  []string `json:"tags,omitempty"`
	}
	var list []elem
	for i := range 3000 {
		list = append(list, elem{Name: strings.Repeat("华东<一组>&", i%7), Value: float64(i) / 7, Tags: []string{"a", "b"}[:i%3]})
	}
	e := echo.New()
	run := func(v any, stream bool) (*httptest.ResponseRecorder, error) {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
		if stream {
			return rec, writeJSON(c, v)
		}
		return rec, c.JSON(http.StatusOK, v)
	}
	for _, n := range []int{0, streamMin - 1, streamMin, 3000} {
		want, err := run(list[:n], false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := run(list[:n], true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Fatalf("%d elements: %d bytes (%s), c.JSON %d (%s)", n, got.Body.Len(), got.Header().Get("Content-Type"), want.Body.Len(), want.Header().Get("Content-Type"))
		}
	}

	bad := append([]elem(nil), list...)
	bad[0].Value = math.NaN()
	if _, err := run(bad, true); err == nil {
		t.Fatal("NaN in the first element: no error")
	}
	bad[0].Value, bad[2500].Value = 0, math.Inf(1)
	rec, err := run(bad, true)
	if err == nil {
		t.Fatal("Inf in element 2500: no error")
	}
	if json.Valid(rec.Body.Bytes()) || rec.Body.Len() == 0 {
		t.Fatalf("Inf in element 2500: %d bytes written, valid JSON %v", rec.Body.Len(), json.Valid(rec.Body.Bytes()))
	}
}
