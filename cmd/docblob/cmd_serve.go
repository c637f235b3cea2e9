package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/localsign"
)

// servingLine is serve's JSON result, printed once it listens.
type servingLine struct {
	Type    string `json:"type"`    // "serving"
	URL     string `json:"url"`     // the sign_url under which signed URLs are served
	Address string `json:"address"` // the address it listens on
}

// serveCommand serves localsign's handler for a local store.
func (a *app) serveCommand() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the signed URLs of a file:// or mem:// store (local development of direct uploads)",
		Long: `serve answers the signed URLs of a file:// or mem:// store, as S3 answers
presigned URLs: downloads from "docblob url" and create-only uploads from
"docblob url --put" or from a service's Store.NewUpload. The store URL must
have sign_url (the base of the signed URLs) and secret_env (the name of an
environment variable holding the store's secret, at least 32 bytes), the
same as the service's:

  export RECEIPTS_SECRET=$(head -c 32 /dev/urandom | base64)
  docblob serve --store 'file:///tmp/receipts?secret_env=RECEIPTS_SECRET&sign_url=http://127.0.0.1:8080/blobs'

It listens on sign_url's host and port (--listen overrides) and serves the
handler at sign_url's path, until interrupted.`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			u, err := a.storeURLFor()
			if err != nil {
				return err
			}
			store, si, err := openURL(ctx, u)
			if err != nil {
				return err
			}
			defer store.Close()
			var signer *localsign.Signer
			if !store.As(&signer) {
				return codedf(docblob.InvalidArgument, nil,
					"use a file:// or mem:// store URL with sign_url=http://127.0.0.1:8080/blobs and secret_env=VARIABLE (S3 serves its own presigned URLs)",
					"serve: the store %s does not sign URLs with localsign", si.url)
			}
			pu, _ := url.Parse(u)
			signURL, err := url.Parse(pu.Query().Get("sign_url"))
			if err != nil || signURL.Host == "" {
				return codedf(docblob.InvalidArgument, nil, "give sign_url an absolute http URL", "serve: cannot read the store URL's sign_url")
			}
			addr := listen
			if addr == "" {
				addr = signURL.Host
				if signURL.Port() == "" {
					port := "80"
					if signURL.Scheme == "https" {
						port = "443"
					}
					addr = net.JoinHostPort(signURL.Hostname(), port)
				}
			}
			path := signURL.EscapedPath()
			if path == "" {
				path = "/"
			}
			mux := http.NewServeMux()
			mux.Handle(path, signer.Handler())
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &cliError{exit: exitFailure, err: fmt.Errorf("serve: %w", err), hint: "choose a free port in sign_url, or --listen ADDRESS"}
			}
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			if a.json {
				if err := a.emit(servingLine{Type: "serving", URL: signURL.String(), Address: ln.Addr().String()}); err != nil {
					return err
				}
			} else {
				a.printf("serving the signed URLs of %s at %s (listening on %s); interrupt to stop\n", si.url, signURL, ln.Addr())
			}
			select {
			case err := <-errc:
				return &cliError{exit: exitFailure, err: fmt.Errorf("serve: %w", err)}
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return &cliError{exit: exitFailure, err: fmt.Errorf("serve: %w", err)}
			}
			return nil // interrupted: the normal way to stop
		}),
	}
	cmd.Flags().StringVar(&listen, "listen", "", "listen on `ADDRESS` instead of sign_url's host and port")
	return cmd
}
