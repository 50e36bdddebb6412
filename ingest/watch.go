package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Watch loads every file dropped into dir until ctx ends. A file is taken once its
// size has stopped changing; it then moves to dir/done (loaded, or already loaded
// before) or dir/failed, with its report beside it as NAME.report.json.
func (s *Service) Watch(ctx context.Context, dir string) error {
	for _, d := range []string{"done", "failed"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	seen := map[string]int64{}
	t := time.NewTicker(s.opts.WatchInterval)
	defer t.Stop()
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") ||
				strings.HasSuffix(name, ".report.json") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".tmp") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			// Wait for one unchanged size: the copy into the folder may still be going.
			if prev, ok := seen[name]; !ok || prev != info.Size() {
				seen[name] = info.Size()
				continue
			}
			delete(seen, name)
			s.watchOne(ctx, dir, name)
			if ctx.Err() != nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) watchOne(ctx context.Context, dir, name string) {
	path := filepath.Join(dir, name)
	rep, err := s.LoadFile(ctx, path, LoadOptions{})
	if ctx.Err() != nil {
		return // cancelled: leave the file for the next start
	}
	dest := "done"
	// A file whose rows are loaded but whose publication failed is done: the next
	// publication by any process makes it visible.
	if rep == nil || len(rep.Files) == 0 || rep.Files[0].Status == StatusFailed {
		dest = "failed"
	}
	if rep == nil {
		rep = &Report{Files: []FileReport{{File: name, Status: StatusFailed, Error: err.Error()}}, Failed: 1}
	}
	target := filepath.Join(dir, dest, name)
	if _, err := os.Stat(target); err == nil {
		target = filepath.Join(dir, dest, fmt.Sprintf("%s.%d%s", strings.TrimSuffix(name, filepath.Ext(name)), time.Now().Unix(), filepath.Ext(name)))
	}
	if mvErr := os.Rename(path, target); mvErr != nil {
		s.log.Error("move watched file", "file", path, "err", mvErr)
		return
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if werr := os.WriteFile(target+".report.json", b, 0o644); werr != nil {
		s.log.Error("write report", "file", target, "err", werr)
	}
	s.log.Info("watched file loaded", "file", name, "to", dest)
}
