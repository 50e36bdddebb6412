package ingest

import (
	"io"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// ProgressBar returns a Progress callback that draws a progress bar per file on w
// (a terminal): bytes when the format tells them, rows otherwise.
func ProgressBar(w io.Writer) func(Progress) {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	var file string
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil || p.File != file {
			if bar != nil {
				_ = bar.Finish()
			}
			file = p.File
			total := p.Total
			if p.Bytes == 0 {
				total = -1
			}
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(p.File),
				progressbar.OptionShowBytes(p.Bytes > 0),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100_000_000),
				progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
				progressbar.OptionClearOnFinish(),
			)
		}
		if p.Bytes > 0 {
			_ = bar.Set64(p.Bytes)
		} else {
			_ = bar.Set64(p.Rows)
		}
		if p.Done {
			_ = bar.Finish()
			bar = nil
		}
	}
}
