package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
)

// The JSON objects printed with --json, one per line. Their field names
// are stable (see the package documentation); every field is always
// present, "" or 0 or {} when it does not apply.

// docLine describes a document (ls, stat, put).
type docLine struct {
	Type        string                    `json:"type"` // "document"
	Partition   string                    `json:"partition"`
	Sort        string                    `json:"sort"`
	Revision    string                    `json:"revision"`
	Fields      map[string]any            `json:"fields"`
	Attachments map[string]attachmentJSON `json:"attachments"`
}

// attachmentJSON describes an attachment.
type attachmentJSON struct {
	Size        int64             `json:"size"`
	ContentType string            `json:"content_type"`
	SHA256      string            `json:"sha256"`   // "" unless the checksum is a SHA-256
	Checksum    string            `json:"checksum"` // "ALGORITHM:HEX", such as "crc32c:1a2b3c4d"
	Name        string            `json:"name"`
	Created     string            `json:"created"` // RFC 3339, UTC
	ETag        string            `json:"etag"`
	Inline      bool              `json:"inline"`
	Key         string            `json:"key"`    // the payload's storage key; "" if inline
	Bucket      string            `json:"bucket"` // the S3 bucket; "" on other backends
	Metadata    map[string]string `json:"metadata"`
}

// checksumText returns the checksum recorded for b as "ALGORITHM:HEX",
// or "" for a blob that records none.
func checksumText(b *docblob.Blob) string {
	alg, sum := b.Checksum()
	if alg == "" {
		return ""
	}
	return string(alg) + ":" + sum
}

// blobJSON describes b.
func blobJSON(b *docblob.Blob) attachmentJSON {
	md := b.Metadata()
	if md == nil {
		md = map[string]string{}
	}
	created := ""
	if t := b.Created(); !t.IsZero() {
		created = t.UTC().Format(time.RFC3339Nano)
	}
	return attachmentJSON{
		Size: b.Size(), ContentType: b.ContentType(), SHA256: b.SHA256(), Checksum: checksumText(b), Name: b.Name(),
		Created: created, ETag: b.ETag(), Inline: b.Inline(), Key: b.Key(), Bucket: b.Bucket(), Metadata: md,
	}
}

// docJSON describes d.
func docJSON(d *document) docLine {
	l := docLine{Type: "document", Partition: d.key.Partition, Sort: d.key.Sort, Revision: d.revision,
		Fields: map[string]any{}, Attachments: map[string]attachmentJSON{}}
	for k, v := range d.fields {
		l.Fields[k] = jsonValue(v)
	}
	for k, b := range d.attachments {
		l.Attachments[k] = blobJSON(b)
	}
	return l
}

// jsonValue converts a document field value into one that encoding/json
// writes without loss: numbers that are Decimals as JSON numbers with all
// their digits, sets as arrays. []byte values become base64 strings, as
// encoding/json writes them.
func jsonValue(v any) any {
	switch x := v.(type) {
	case docblob.Decimal:
		if json.Valid([]byte(x)) {
			return json.Number(x)
		}
		return string(x)
	case docblob.StringSet:
		return []string(x)
	case docblob.NumberSet:
		out := make([]any, len(x))
		for i, d := range x {
			out[i] = jsonValue(d)
		}
		return out
	case docblob.BinarySet:
		return [][]byte(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case *docblob.Blob:
		return blobJSON(x)
	}
	return v
}

// fromJSON converts a value decoded by encoding/json with UseNumber into a
// document field value: numbers become int64, float64 or Decimal as
// docblob reads them back (driver.NumberValue), so no digit is lost.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		return driver.NumberValue(driver.Decimal(x.String()))
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	}
	return v
}

// readJSONDoc reads a JSON object of document fields from a file ("-" for
// standard input).
func (a *app) readJSONDoc(path string) (map[string]any, error) {
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, &cliError{exit: exitFailure, err: err, hint: "give --doc a JSON file of the document's fields (or - for standard input)"}
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, usagef("--doc %s: not a JSON object: %v", path, err)
	}
	if dec.More() {
		return nil, usagef("--doc %s: more than one JSON value", path)
	}
	if m == nil {
		return nil, usagef("--doc %s: null is not a JSON object", path)
	}
	return fromJSON(m).(map[string]any), nil
}

// emit prints one JSON object on its own line.
func (a *app) emit(v any) error {
	b, err := marshalLine(v)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(b)
	return err
}

// marshalLine encodes v as one line of JSON, without escaping &, < and >
// (URLs stay readable).
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// printf prints text results on stdout.
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// printDoc prints a document as stat shows it.
func (a *app) printDoc(d *document) error {
	if a.json {
		return a.emit(docJSON(d))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "document  %v\n", d.key)
	fmt.Fprintf(&b, "revision  %s\n", d.revision)
	names := make([]string, 0, len(d.fields))
	for k := range d.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		fmt.Fprintf(&b, "fields    (none)\n")
	} else {
		fmt.Fprintf(&b, "fields\n")
	}
	for _, k := range names {
		v, err := json.Marshal(jsonValue(d.fields[k]))
		if err != nil {
			v = []byte(fmt.Sprint(d.fields[k]))
		}
		fmt.Fprintf(&b, "  %s: %s\n", k, v)
	}
	if len(d.attachments) == 0 {
		fmt.Fprintf(&b, "attachments (none)\n")
	} else {
		fmt.Fprintf(&b, "attachments\n")
	}
	for _, k := range d.attachmentNames() {
		bl := d.attachments[k]
		fmt.Fprintf(&b, "  %s\n", k)
		fmt.Fprintf(&b, "    size          %s (%d bytes)\n", humanBytes(bl.Size()), bl.Size())
		fmt.Fprintf(&b, "    content type  %s\n", bl.ContentType())
		alg, sum := bl.Checksum()
		fmt.Fprintf(&b, "    %-13s %s\n", alg, sum)
		if bl.Name() != "" {
			fmt.Fprintf(&b, "    name          %s\n", bl.Name())
		}
		if t := bl.Created(); !t.IsZero() {
			fmt.Fprintf(&b, "    created       %s\n", t.UTC().Format(time.RFC3339))
		}
		if bl.ETag() != "" {
			fmt.Fprintf(&b, "    etag          %s\n", bl.ETag())
		}
		switch {
		case bl.Inline():
			fmt.Fprintf(&b, "    stored        inline, in the document\n")
		case bl.Bucket() != "":
			fmt.Fprintf(&b, "    key           s3://%s/%s\n", bl.Bucket(), bl.Key())
		default:
			fmt.Fprintf(&b, "    key           %s\n", bl.Key())
		}
		md := bl.Metadata()
		mk := make([]string, 0, len(md))
		for k := range md {
			mk = append(mk, k)
		}
		sort.Strings(mk)
		for _, k := range mk {
			fmt.Fprintf(&b, "    metadata      %s=%s\n", k, md[k])
		}
	}
	_, err := a.stdout.Write(b.Bytes())
	return err
}

// humanBytes formats n bytes with binary units: "512 B", "1.5 KiB",
// "100.0 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// humanDuration formats d for progress lines: "850ms", "12.3s", "4m05s".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// plural returns "1 document" or "2 documents".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
