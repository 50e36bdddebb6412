package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"
)

// A long list (the scorecards of every rep: 546 elements, 1.5 MB of JSON at
// the large sample) cost 4.5 ms to encode and then 6 ms to gzip, one after
// the other on one core: encoding/json marshals the whole value before the
// first byte reaches the gzip writer. writeJSON encodes the elements on
// another goroutine and writes each chunk while the next is encoded, so the
// two overlap. The bytes are those of c.JSON.

// streamMin is the length from which a list is streamed.
const streamMin = 64

// streamChunk is about how many bytes of JSON each write carries.
const streamChunk = 32 << 10

// writeJSON writes v as c.JSON(http.StatusOK, v) does, streaming a list of
// streamMin elements or more (not under ?pretty, which c.JSON indents).
func writeJSON(c echo.Context, v any) error {
	rv := reflect.ValueOf(v)
	if _, pretty := c.QueryParams()["pretty"]; pretty || rv.Kind() != reflect.Slice || rv.Len() < streamMin {
		return c.JSON(http.StatusOK, v)
	}
	done := make(chan struct{})
	defer close(done)
	chunks, errc := make(chan []byte, 2), make(chan error, 1)
	go func() {
		defer close(chunks)
		errc <- encodeChunks(rv, done, chunks)
	}()
	first, ok := <-chunks
	if !ok {
		// Nothing written yet: the error goes out as c.JSON's would.
		return <-errc
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	for b := first; ok; b, ok = <-chunks {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	// An element that fails to encode after the first chunk leaves the body
	// cut short, not valid JSON: the client sees an error, not a shorter list.
	return <-errc
}

// encodeChunks sends rv's elements as a JSON array (and c.JSON's final
// newline) in chunks of about streamChunk bytes, until done closes.
func encodeChunks(rv reflect.Value, done <-chan struct{}, chunks chan<- []byte) error {
	buf := append(make([]byte, 0, streamChunk+4096), '[')
	send := func() bool {
		select {
		case chunks <- buf:
			buf = make([]byte, 0, streamChunk+4096)
			return true
		case <-done:
			return false
		}
	}
	for i := range rv.Len() {
		b, err := json.Marshal(rv.Index(i).Interface())
		if err != nil {
			return fmt.Errorf("encode element %d of the answer: %w", i, err)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		if len(buf) >= streamChunk && !send() {
			return nil
		}
	}
	buf = append(buf, ']', '\n')
	send()
	return nil
}
