package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"todo-api/config"
)

// healthcheck asks a running instance for /healthz and fails unless it says
// 200. It is the container's HEALTHCHECK: the distroless image has no shell
// and no curl, only this binary.
func healthcheck(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", fmt.Sprintf("http://127.0.0.1:%d/healthz", cfg.Port), "the URL to check")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *url, res.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
