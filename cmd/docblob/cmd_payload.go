package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/docblob/docblob"
)

// catCommand writes a payload to standard output.
func (a *app) catCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cat PARTITION SORT FIELD",
		Short: "Write an attachment's payload to standard output, verified",
		Long: `cat streams the payload of the attachment FIELD to standard output and checks
its size and SHA-256 at the end: if they do not match what the document
records, cat fails with exit code 9 (corrupt), and the bytes written are not
the stored payload. Use get -o FILE to write a file only once verified.`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			_, _, b, err := si.attachmentArgs(ctx, store, "cat", args)
			if err != nil {
				return err
			}
			if f, ok := a.stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				a.noProgress = true // the payload itself is on the screen
			}
			t := a.startTask("cat", kindTransfer, b.Size())
			_, err = b.WithProgress(t.transfer()).CopyTo(ctx, a.stdout)
			t.finish(err)
			if docblob.Code(err) == docblob.Corrupt {
				return withHint(err, "the bytes written to standard output are not the stored payload: discard them; retry once (they may have been damaged on the way), then run `docblob check --verify`")
			}
			return err
		}),
	}
}

// downloadLine is get's JSON result.
type downloadLine struct {
	Type      string `json:"type"` // "download"
	Partition string `json:"partition"`
	Sort      string `json:"sort"`
	Field     string `json:"field"`
	File      string `json:"file"` // "-" for standard output
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`   // verified; "" unless the checksum is a SHA-256
	Checksum  string `json:"checksum"` // verified: "ALGORITHM:HEX"
}

// getCommand downloads a payload into a file.
func (a *app) getCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get PARTITION SORT FIELD -o FILE",
		Short: "Download an attachment's payload into a file, verified",
		Long: `get downloads the payload of the attachment FIELD into FILE (- for standard
output). The payload is written to a temporary file beside FILE, checked
against the size and SHA-256 the document records, and only then renamed to
FILE: a payload that does not match (exit code 9) never leaves a file.`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if output == "" {
				return usagef("get: give the output file with -o FILE (- for standard output)")
			}
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			k, field, b, err := si.attachmentArgs(ctx, store, "get", args)
			if err != nil {
				return err
			}
			if output == "-" {
				t := a.startTask("get", kindTransfer, b.Size())
				_, err = b.WithProgress(t.transfer()).CopyTo(ctx, a.stdout)
				t.finish(err)
			} else {
				err = a.download(ctx, b, output)
			}
			if err != nil {
				if docblob.Code(err) == docblob.Corrupt {
					return withHint(err, fmt.Sprintf("nothing was written to %s; retry once (the bytes may have been damaged on the way), then run `docblob check --verify`", output))
				}
				return err
			}
			if a.json {
				return a.emit(downloadLine{Type: "download", Partition: k.Partition, Sort: k.Sort, Field: field, File: output, Size: b.Size(), SHA256: b.SHA256(), Checksum: checksumText(b)})
			}
			if output != "-" {
				a.printf("wrote %s: %s, checksum %s verified\n", output, humanBytes(b.Size()), checksumText(b))
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the payload to `FILE` (- for standard output)")
	return cmd
}

// download writes b's payload to path through a temporary file, renamed
// into place once the payload is verified.
func (a *app) download(ctx context.Context, b *docblob.Blob, path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".docblob-get-*")
	if err != nil {
		return &cliError{exit: exitFailure, err: err, hint: "check that the output directory exists and is writable"}
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	t := a.startTask("get", kindTransfer, b.Size())
	_, err = b.WithProgress(t.transfer()).CopyTo(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	t.finish(err)
	if err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return &cliError{exit: exitFailure, err: err}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return &cliError{exit: exitFailure, err: err}
	}
	done = true
	return nil
}

// urlLine is url's JSON result.
type urlLine struct {
	Type      string            `json:"type"` // "url"
	Partition string            `json:"partition"`
	Sort      string            `json:"sort"`
	Field     string            `json:"field"`
	Method    string            `json:"method"` // GET, or PUT with --put
	URL       string            `json:"url"`
	Expires   string            `json:"expires"` // RFC 3339, UTC
	Headers   map[string]string `json:"headers"` // headers the request must carry (PUT)
	Token     string            `json:"token"`   // PUT: commit with put PARTITION SORT FIELD --upload-token TOKEN
}

// urlCommand makes a signed URL.
func (a *app) urlCommand() *cobra.Command {
	var (
		expiry      time.Duration
		put         bool
		contentType string
		size        int64
		maxSize     int64
	)
	cmd := &cobra.Command{
		Use:   "url PARTITION SORT FIELD [--expiry D] [--put]",
		Short: "Make a signed URL to download (or, with --put, upload) an attachment's payload",
		Long: `url prints a time-limited URL from which anyone holding it can download the
payload of the attachment FIELD, without credentials (S3 presigned URLs;
localsign URLs on file:// and mem:// stores whose URL has sign_url and
secret_env, served by "docblob serve").

With --put it prints a create-only upload URL for the field instead, the
headers the upload must carry, and a token: upload the file, then commit it
into the document with put PARTITION SORT FIELD --upload-token TOKEN (from any
process whose store URL has the same secret_env secret).`,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if expiry < 0 {
				return usagef("url: --expiry must be positive")
			}
			if !put && (contentType != "" || size != 0 || maxSize != 0) {
				return usagef("url: --content-type, --size and --max-size apply to --put")
			}
			store, si, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			k, rest, err := si.keyArgs("url", args, "FIELD")
			if err != nil {
				return err
			}
			field := rest[0]
			line := urlLine{Type: "url", Partition: k.Partition, Sort: k.Sort, Field: field, Headers: map[string]string{}}
			if put {
				up, err := store.NewUpload(ctx, si.docFor(k), field, &docblob.UploadOptions{
					Expiry: expiry, ContentType: contentType, Size: size, MaxSize: maxSize})
				if err != nil {
					return err
				}
				line.Method, line.URL, line.Token = up.Method, up.URL, up.Token
				line.Expires = up.Expires.UTC().Format(time.RFC3339)
				for h := range up.Header {
					line.Headers[h] = up.Header.Get(h)
				}
			} else {
				d, err := si.getDoc(ctx, store, k)
				if err != nil {
					return err
				}
				b, err := d.attachment(field)
				if err != nil {
					return err
				}
				e := expiry
				if e == 0 {
					e = time.Hour
				}
				start := time.Now()
				u, err := b.SignedURL(ctx, &docblob.SignedURLOptions{Expiry: e})
				if err != nil {
					return err
				}
				line.Method, line.URL = http.MethodGet, u
				line.Expires = start.Add(e).UTC().Format(time.RFC3339)
			}
			if a.json {
				return a.emit(line)
			}
			if !put {
				a.printf("%s\n", line.URL)
				return nil
			}
			a.printf("%s %s\n", line.Method, line.URL)
			names := make([]string, 0, len(line.Headers))
			for h := range line.Headers {
				names = append(names, h)
			}
			sort.Strings(names)
			curl := "curl -X " + line.Method
			for _, h := range names {
				a.printf("%s: %s\n", h, line.Headers[h])
				curl += " -H " + shellQuote(h+": "+line.Headers[h])
			}
			a.printf("token: %s\n", line.Token)
			a.notice("upload with:  %s --upload-file FILE %s", curl, shellQuote(line.URL))
			a.notice("then commit:  docblob put %s %s --upload-token TOKEN", keyWords(si, k), shellQuote(field))
			return nil
		}),
	}
	f := cmd.Flags()
	f.DurationVar(&expiry, "expiry", 0, "how long the URL stays valid (default 1h; 15m with --put)")
	f.BoolVar(&put, "put", false, "make a direct upload URL for the field instead")
	f.StringVar(&contentType, "content-type", "", "with --put: the Content-Type the upload must carry")
	f.Int64Var(&size, "size", 0, "with --put: the exact size of the upload in bytes")
	f.Int64Var(&maxSize, "max-size", 0, "with --put: the largest upload accepted, in bytes")
	return cmd
}

// keyWords returns a document key as command-line arguments.
func keyWords(si storeInfo, k docblob.Key) string {
	if !si.hasSort() {
		return shellQuote(k.Partition)
	}
	return shellQuote(k.Partition) + " " + shellQuote(k.Sort)
}
