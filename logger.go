package main

import (
	"io"
	"log/slog"
	"os"

	"todo-api/config"
)

// newLogger writes JSON lines, one object per event, for log collectors
// (Fly.io, Render, anything reading stdout) and text when a person is
// watching: on a terminal, or when LOG_FORMAT=text asks for it.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	format := cfg.Format
	if format == "" {
		format = config.LogJSON
		if isTerminal(w) {
			format = config.LogText
		}
	}
	if format == config.LogText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
