package s3dynamo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docblob/docblob/driver"
)

// maxParts is the most parts S3 accepts in one multipart upload.
const maxParts = 10000

// maxPartSize is the largest part S3 accepts.
const maxPartSize = 5 << 30

// maxObjectSize is the largest object S3 accepts.
const maxObjectSize = 5 << 40

// partSize returns the size of part num (from 1) of a multipart upload
// whose first parts have size base: base for the first basePartCount
// parts, then doubling every partsPerSize parts up to maxPartSize.
func partSize(base int64, num int32) int64 {
	if num <= basePartCount {
		return base
	}
	return min(base<<((num-basePartCount-1)/partsPerSize+1), maxPartSize)
}

// The part size schedule. Payloads of up to basePartCount parts (39 GiB at
// the default 5 MiB) use Options.PartSize throughout, so their memory is
// bounded by PartSize*(UploadConcurrency+1). Larger ones grow their parts,
// doubling every partsPerSize parts, so that S3's 5 TiB object limit fits
// in its 10,000 parts: their bound is (UploadConcurrency+1) parts of the
// current size, plus the pooled buffers of the previous size until the
// garbage collector reclaims them (see partPool).
const (
	basePartCount = 8000
	partsPerSize  = 100
)

// multipart uploads a streamed payload of more than one part. first
// and second hold its first two parts (n1 and n2 bytes); more says
// whether r has more after them. want is the payload's announced
// checksum, or nil.
func (d *Driver) multipart(ctx context.Context, obj object, r io.Reader, first *[]byte, n1 int, second *[]byte, n2 int, more bool, want []byte) (*driver.BlobAttrs, error) {
	u, err := d.startUpload(ctx, obj, d.opts.UploadConcurrency, want)
	if err != nil {
		d.parts.put(first)
		d.parts.put(second)
		return nil, err
	}
	u.send(1, part{buf: first, n: int64(n1)})
	u.send(2, part{buf: second, n: int64(n2)})
	var readErr error
	for num := int32(3); more && u.failed() == nil; num++ {
		if num > maxParts {
			var b [1]byte
			n, _, err := readPart(ctx, r, b[:])
			if readErr = err; err == nil && n > 0 {
				readErr = newCoded(driver.TooLarge, "payload needs more than S3's 10,000 parts", nil)
			}
			break
		}
		buf := d.parts.get(partSize(d.opts.PartSize, num))
		var n int
		n, more, readErr = readPart(ctx, r, *buf)
		if readErr != nil || n == 0 {
			d.parts.put(buf)
			break
		}
		u.send(num, part{buf: buf, n: int64(n)})
	}
	return u.finish(readErr)
}

// uploadInPlace uploads the size bytes of a payload from r's current
// position as a multipart upload whose parts are sections of r, read
// with ReadAt where they lie: no part buffer, and as many parts in flight
// as the in-place concurrency allows. On success it leaves r at the
// payload's end.
func (d *Driver) uploadInPlace(ctx context.Context, obj object, r io.ReaderAt, sk io.Seeker, size int64, want []byte) (*driver.BlobAttrs, error) {
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if size > maxObjectSize {
		// Smaller ones fit in 10,000 parts: see TestPartSizeSchedule.
		return nil, newCoded(driver.TooLarge, fmt.Sprintf("a payload of %d bytes is larger than S3's largest object, 5 TiB", size), nil)
	}
	base := d.inPlace.partSize
	u, err := d.startUpload(ctx, obj, d.inPlace.concurrency, want)
	if err != nil {
		return nil, err
	}
	u.size = size
	var stop error
	for num, off := int32(1), int64(0); off < size && u.failed() == nil; num++ {
		if stop = ctx.Err(); stop != nil {
			break
		}
		n := min(partSize(base, num), size-off)
		u.send(num, part{src: r, at: start + off, off: off, n: n})
		off += n
	}
	attrs, err := u.finish(stop)
	if err != nil {
		return nil, err
	}
	if _, err := sk.Seek(start+size, io.SeekStart); err != nil {
		d.undoObject(ctx, obj.key, err)
		return nil, err
	}
	return attrs, nil
}

// startUpload creates a multipart upload of obj and returns its
// uploader, which sends up to concurrency parts at once; want is the
// payload's announced checksum, or nil.
//
// With a CRC, the upload has a full-object checksum of that algorithm
// (ChecksumType FULL_OBJECT): each part carries its CRC, computed by the
// goroutine that sends it, and the completion the CRC of the whole,
// combined from the parts'. With SHA-256, which S3 keeps for whole
// objects only, the parts carry CRC32Cs (a composite checksum) and the
// payload's SHA-256 is computed as the parts are handed to send, in
// order.
func (d *Driver) startUpload(ctx context.Context, obj object, concurrency int, want []byte) (*partUploader, error) {
	in := &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(d.opts.Bucket),
		Key:               aws.String(obj.key),
		ContentType:       aws.String(obj.contentType),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c,
	}
	var sha hash.Hash
	if obj.alg == driver.SHA256 {
		sha = obj.alg.New()
	} else {
		in.ChecksumAlgorithm = s3Algorithm(obj.alg)
		in.ChecksumType = s3types.ChecksumTypeFullObject
	}
	if d.opts.ServerSideEncryption != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryption(d.opts.ServerSideEncryption)
		in.SSEKMSKeyId = optional(d.opts.KMSKeyID)
	}
	created, err := d.s3().CreateMultipartUpload(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	return &partUploader{
		d: d, obj: obj, uploadID: aws.ToString(created.UploadId),
		sha: sha, want: want, size: -1,
		parent: ctx, ctx: pctx, cancel: cancel,
		slots: make(chan struct{}, concurrency),
		sums:  make(map[int32]partSum),
	}, nil
}

// part is one part of a multipart upload: the first n bytes of a pooled
// part buffer (a streamed payload), or the n bytes of src at offset at,
// which are the payload's from offset off (a payload uploaded in place).
type part struct {
	buf     *[]byte
	src     io.ReaderAt
	at, off int64
	n       int64
}

// sectionBufs holds the buffers that parts uploaded in place are read
// through to compute their checksums.
var sectionBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hash writes the part's bytes to h. A part in place whose source ends
// before the part does fails with an error that says so (size is the
// payload's announced size); a failure of the source is returned as is.
func (p part) hash(h io.Writer, size int64) error {
	if p.buf != nil {
		h.Write((*p.buf)[:p.n])
		return nil
	}
	bp := sectionBufs.Get().(*[]byte)
	defer sectionBufs.Put(bp)
	n, err := io.CopyBuffer(h, io.NewSectionReader(p.src, p.at, p.n), *bp)
	switch {
	case err != nil:
		return err
	case n < p.n:
		return newCoded(driver.InvalidArgument, fmt.Sprintf("the payload ended after %d bytes, short of its announced size of %d", p.off+n, size), nil)
	}
	return nil
}

// sum returns the part's checksum of algorithm alg.
func (p part) sum(alg driver.ChecksumAlgorithm, size int64) ([]byte, error) {
	if p.buf != nil {
		return alg.Sum((*p.buf)[:p.n]), nil
	}
	h := alg.New()
	if err := p.hash(h, size); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// endsEarly reports whether the part is in place and its source now ends
// before the part does, as a file truncated during the upload does.
func (p part) endsEarly() bool {
	if p.buf != nil || p.n == 0 {
		return false
	}
	var last [1]byte
	n, _ := p.src.ReadAt(last[:], p.at+p.n-1)
	return n == 0
}

// body returns a reader of the part's bytes, for one request.
func (p part) body() io.Reader {
	if p.buf != nil {
		return bytes.NewReader((*p.buf)[:p.n])
	}
	return io.NewSectionReader(p.src, p.at, p.n)
}

// partUploader sends the parts of one multipart upload, at most
// concurrency at a time, and completes or aborts it. Streamed and
// in-place uploads share it: they differ only in where their parts are.
type partUploader struct {
	d        *Driver
	obj      object
	uploadID string
	// sha is the running SHA-256 of the parts sent so far, in order, for
	// a payload recorded with SHA-256; nil for a CRC, which is combined
	// from the parts' (sums).
	sha    hash.Hash
	want   []byte          // the payload's announced checksum, or nil
	size   int64           // the payload's announced size, or -1
	parent context.Context // the caller's
	ctx    context.Context // parent's child, canceled at the first failed part
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	err   error // the first failed part's
	parts []s3types.CompletedPart
	sums  map[int32]partSum // for a CRC: each part's
}

// partSum is a part's CRC and length.
type partSum struct {
	sum []byte
	n   int64
}

// send uploads part num once a slot is free, and returns its buffer, if
// any, to the pool when done. A part whose bytes cannot be read fails
// the upload.
func (u *partUploader) send(num int32, p part) {
	var sum []byte // the part's CRC32C, if made here
	if u.sha != nil {
		// In order: send is called part after part. The part's CRC32C,
		// which S3 checks the request's bytes against, is made in the
		// same read as the part's share of the SHA-256, so that the
		// SHA-256 is of the bytes stored even if a source in place
		// changes between this read and the request's.
		crc := driver.CRC32C.New()
		if err := p.hash(io.MultiWriter(u.sha, crc), u.size); err != nil {
			u.fail(err)
			if p.buf != nil {
				u.d.parts.put(p.buf)
			}
			return
		}
		sum = crc.Sum(nil)
	}
	u.slots <- struct{}{}
	u.wg.Add(1)
	go func() {
		defer func() {
			if p.buf != nil {
				u.d.parts.put(p.buf)
			}
			<-u.slots
			u.wg.Done()
		}()
		alg := u.obj.alg
		if alg == driver.SHA256 {
			alg = driver.CRC32C // made above
		} else {
			var err error
			if sum, err = p.sum(alg, u.size); err != nil {
				u.fail(err)
				return
			}
		}
		var c s3Checksums
		c.set(driver.Checksum{Algorithm: alg, Sum: sum})
		out, err := u.d.s3().UploadPart(u.ctx, &s3.UploadPartInput{
			Bucket:            aws.String(u.d.opts.Bucket),
			Key:               aws.String(u.obj.key),
			UploadId:          aws.String(u.uploadID),
			PartNumber:        aws.Int32(num),
			Body:              p.body(),
			ContentLength:     aws.Int64(p.n),
			ChecksumCRC32C:    c.crc32c,
			ChecksumCRC64NVME: c.crc64nvme,
		}, unsignedPayloadHash)
		if err != nil {
			if p.endsEarly() {
				// The request's body came up short (the SDK retried it,
				// and calls the failure a connection's): the source
				// changed under the upload, which retrying cannot mend.
				err = newCoded(driver.InvalidArgument, fmt.Sprintf("the payload ended before the end of part %d, short of its announced size of %d", num, u.size), err)
			}
			u.fail(err)
			return
		}
		u.mu.Lock()
		defer u.mu.Unlock()
		u.parts = append(u.parts, s3types.CompletedPart{
			PartNumber:        aws.Int32(num),
			ETag:              out.ETag,
			ChecksumCRC32C:    c.crc32c,
			ChecksumCRC64NVME: c.crc64nvme,
		})
		u.sums[num] = partSum{sum: sum, n: p.n}
	}()
}

// fail records the first failed part's error and cancels the others.
func (u *partUploader) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
		u.cancel()
	}
}

// failed returns the first failed part's error, if any.
func (u *partUploader) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// finish waits for the parts in flight, then completes the upload, or
// aborts it if readErr (the source's or ctx's) is set, a part failed
// (its request, or reading its bytes in place), the payload does not
// match its announced checksum, or the completion failed. It returns readErr, else the caller's context's
// error, else the failed request's.
func (u *partUploader) finish(readErr error) (*driver.BlobAttrs, error) {
	u.wg.Wait()
	defer u.cancel()
	err := readErr
	if err == nil {
		err = u.failed()
	}
	if err == nil {
		var attrs *driver.BlobAttrs
		if attrs, err = u.complete(); err == nil {
			return attrs, nil
		}
	}
	u.abort()
	if readErr == nil && u.parent.Err() != nil {
		return nil, u.parent.Err()
	}
	return nil, err
}

// complete completes the upload of the parts sent, with the payload's
// checksum, unless it differs from the one announced.
func (u *partUploader) complete() (*driver.BlobAttrs, error) {
	slices.SortFunc(u.parts, func(a, b s3types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	sum := u.wholeSum()
	if u.want != nil && !bytes.Equal(sum.Sum, u.want) {
		return nil, newCoded(driver.Corrupt, "the payload does not match its announced checksum", nil)
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(u.d.opts.Bucket),
		Key:             aws.String(u.obj.key),
		UploadId:        aws.String(u.uploadID),
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: u.parts},
	}
	if u.sha == nil {
		var c s3Checksums
		c.set(sum)
		in.ChecksumCRC32C, in.ChecksumCRC64NVME = c.crc32c, c.crc64nvme
		in.ChecksumType = s3types.ChecksumTypeFullObject
	}
	out, err := u.d.s3().CompleteMultipartUpload(u.parent, in)
	if err != nil {
		// A completion whose response was lost (or that a retry
		// repeated) may have stored the object.
		u.d.undoObject(u.parent, u.obj.key, err)
		return nil, err
	}
	return &driver.BlobAttrs{ETag: aws.ToString(out.ETag), Checksum: sum}, nil
}

// wholeSum returns the payload's checksum: the running SHA-256, or the
// parts' CRCs combined in order.
func (u *partUploader) wholeSum() driver.Checksum {
	if u.sha != nil {
		return driver.Checksum{Algorithm: driver.SHA256, Sum: u.sha.Sum(nil)}
	}
	var sum []byte
	for _, p := range u.parts {
		ps := u.sums[*p.PartNumber]
		if sum == nil {
			sum = ps.sum
			continue
		}
		sum = combineSums(u.obj.alg, sum, ps.sum, ps.n)
	}
	return driver.Checksum{Algorithm: u.obj.alg, Sum: sum}
}

// abort aborts the upload with a fresh context bounded by
// Options.CleanupTimeout, so that its parts do not linger.
func (u *partUploader) abort() {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(u.parent), u.d.opts.CleanupTimeout)
	defer cancel()
	_, _ = u.d.s3().AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(u.d.opts.Bucket),
		Key:      aws.String(u.obj.key),
		UploadId: aws.String(u.uploadID),
	})
}
