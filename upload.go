package docblob

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

// sniffLen is how many bytes http.DetectContentType considers.
const sniffLen = 512

// writePayload stores the payload of a new (or copied) attachment: inline
// if it is small enough, otherwise streamed to a fresh key while its size
// and SHA-256 are computed in the same pass.
func (s *Store) writePayload(ctx context.Context, op string, d *document, a *attachment) (*attach.Ref, error) {
	b := a.blob
	src, opts, known, err := s.payloadSource(ctx, op, d, b)
	if err != nil {
		return nil, err
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	ref := &attach.Ref{Name: opts.Name, Metadata: opts.Metadata, Created: time.Now().UTC(), ContentType: opts.ContentType}

	peekLen := sniffLen
	if t := s.opts.InlineThreshold; t > 0 && t+1 > int64(peekLen) {
		peekLen = int(t + 1)
	}
	br := bufio.NewReaderSize(src, peekLen)
	head, perr := br.Peek(peekLen)
	if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
		return nil, s.sourceError(op, d, perr)
	}
	if ref.ContentType == "" {
		ref.ContentType = sniffContentType(head, opts.Name)
	}

	// Inline: the whole payload fits under the threshold.
	if t := s.opts.InlineThreshold; t > 0 && perr == io.EOF && int64(len(head)) <= t {
		sum := sha256.Sum256(head)
		ref.Inline, ref.IsInline = bytes.Clone(head), true
		ref.Size, ref.SHA256 = int64(len(head)), sum[:]
		if known != nil && !bytes.Equal(known.sum, ref.SHA256) {
			return nil, errorf(Corrupt, op, d.keyStr, "copied payload does not match its recorded SHA-256")
		}
		return ref, nil
	}

	key, err := s.newBlobKey(d.key, a.field)
	if err != nil {
		return nil, newError(TooLarge, op, d.keyStr, err)
	}
	wopts := &driver.WriteOptions{ContentType: ref.ContentType, Size: -1}
	if known != nil {
		wopts.Size, wopts.SHA256 = known.size, known.sum
	}
	hr := newHashingReader(br)
	attrs, err := s.drv.WriteBlob(ctx, key, hr, wopts)
	if err == nil && !hr.eof {
		// A driver that returns before EOF would store a truncated payload.
		s.deletePayloads(ctx, op, d.keyStr, []string{key})
		err = fmt.Errorf("driver returned from WriteBlob before reading the payload to its end")
	}
	if err != nil {
		if hr.err != nil {
			return nil, s.sourceError(op, d, hr.err)
		}
		return nil, s.wrap(op, d.keyStr, err)
	}
	ref.Key, ref.Size, ref.SHA256 = key, hr.n, hr.h.Sum(nil)
	ref.ETag, ref.Bucket = attrs.ETag, s.info.Container
	if known != nil && (known.size != ref.Size || !bytes.Equal(known.sum, ref.SHA256)) {
		s.deletePayloads(ctx, op, d.keyStr, []string{key})
		return nil, errorf(Corrupt, op, d.keyStr, "copied payload does not match its recorded size and SHA-256")
	}
	return ref, nil
}

// knownPayload is what is known of a payload before it is read.
type knownPayload struct {
	size int64
	sum  []byte
}

// payloadSource returns the reader of a payload to write, its options, and
// its size and checksum if known in advance.
func (s *Store) payloadSource(ctx context.Context, op string, d *document, b *Blob) (io.Reader, BlobOptions, *knownPayload, error) {
	switch {
	case b.ref != nil:
		// A stored blob of another document or store: copy its payload.
		r, err := b.Open(ctx)
		if err != nil {
			return nil, BlobOptions{}, nil, err
		}
		opts := BlobOptions{Name: b.ref.Name, ContentType: b.ref.ContentType, Metadata: b.ref.Metadata}
		return r, opts, &knownPayload{size: b.ref.Size, sum: b.ref.SHA256}, nil
	case b.isBytes:
		sum := sha256.Sum256(b.data)
		return bytes.NewReader(b.data), b.opts, &knownPayload{size: int64(len(b.data)), sum: sum[:]}, nil
	case b.src == nil:
		return nil, BlobOptions{}, nil, newError(InvalidArgument, op, d.keyStr, errStale)
	}
	b.read = true
	return b.src, b.opts, nil, nil
}

// sourceError wraps an error from the caller's payload reader.
func (s *Store) sourceError(op string, d *document, err error) error {
	if c := contextErr(err); c != nil {
		return c
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return newError(Unknown, op, d.keyStr, fmt.Errorf("reading the payload: %w", err))
}

// rewind prepares a new blob for a retry after a failed Put, if its reader
// can seek back to where it started.
func (b *Blob) rewind() {
	if !b.read || b.src == nil {
		return
	}
	b.read = false
	if sk, ok := b.src.(io.Seeker); ok && b.srcStart >= 0 {
		if _, err := sk.Seek(b.srcStart, io.SeekStart); err == nil {
			return
		}
	}
	b.src = nil
}

// setStored makes b a stored blob after a successful write.
func (b *Blob) setStored(s *Store, ref *attach.Ref, docKey, docRev string) {
	b.ref, b.store, b.docKey, b.docRev = ref, s, docKey, docRev
	b.src, b.data, b.isBytes, b.read, b.pending = nil, nil, false, false, nil
}

// sniffContentType guesses a payload's media type from its first bytes,
// falling back to its file name's extension when the bytes say nothing.
func sniffContentType(head []byte, name string) string {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	ct := http.DetectContentType(head)
	if ct == "application/octet-stream" && name != "" {
		if t := mime.TypeByExtension(path.Ext(name)); t != "" {
			return t
		}
	}
	return ct
}
