package s3dynamo

import (
	"bytes"
	"cmp"
	"context"
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

// partClasses is the number of part sizes an upload can use: the base size
// and up to 20 doublings (5 MiB doubles to the 5 GiB maximum in 10).
const partClasses = 21

// partPool holds part buffers for reuse across uploads, so that streaming
// a payload allocates nothing once the pool is warm. Buffers of the base
// size are kept in a free list of at most keep (UploadConcurrency+1, one
// upload's worth: 15 MiB by default), which the garbage collector never
// empties, so that a long upload never allocates a part buffer again and
// its memory stays flat; larger classes, used only past 8,000 parts, go
// to a sync.Pool per class, given back at the next garbage collections.
type partPool struct {
	size  int64 // the base part size, Options.PartSize
	keep  int   // base-size buffers kept
	mu    sync.Mutex
	free  []*[]byte              // base-size buffers, at most keep
	pools [partClasses]sync.Pool // pools[k] holds *[]byte of len classSize(k), k >= 1
}

// classSize is the size of the buffers of class k.
func (p *partPool) classSize(k int) int64 { return min(p.size<<k, maxPartSize) }

// class returns the class of buffers of size bytes, or -1 if none.
func (p *partPool) class(size int64) int {
	for k := range partClasses {
		if p.classSize(k) == size {
			return k
		}
	}
	return -1
}

// get returns a buffer of size bytes, pooled if size is one of the part
// sizes.
func (p *partPool) get(size int64) *[]byte {
	switch k := p.class(size); {
	case k == 0:
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			b := p.free[n-1]
			p.free = p.free[:n-1]
			p.mu.Unlock()
			return b
		}
		p.mu.Unlock()
	case k > 0:
		if b, ok := p.pools[k].Get().(*[]byte); ok {
			return b
		}
	}
	b := make([]byte, size)
	return &b
}

// put returns b to the pool of its size class, if it has one.
func (p *partPool) put(b *[]byte) {
	switch k := p.class(int64(len(*b))); {
	case k == 0:
		p.mu.Lock()
		if len(p.free) < p.keep {
			p.free = append(p.free, b)
		}
		p.mu.Unlock()
	case k > 0:
		p.pools[k].Put(b)
	}
}

// multipart uploads a payload of more than one part. first and second
// hold its first two parts (n1 and n2 bytes); more says whether r has
// more after them.
//
// With a CRC, the upload has a full-object checksum of that algorithm
// (ChecksumType FULL_OBJECT): each part carries its CRC, computed by the
// goroutine that sends it, and the completion the CRC of the whole,
// combined from the parts'. With SHA-256, which S3 keeps for whole
// objects only, the parts carry CRC32Cs (a composite checksum) and the
// payload's SHA-256 is computed here as the parts are read.
func (d *Driver) multipart(ctx context.Context, obj object, r io.Reader, first *[]byte, n1 int, second *[]byte, n2 int, more bool) (*driver.BlobAttrs, error) {
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
		d.parts.put(first)
		d.parts.put(second)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	u := newPartUploader(ctx, d, obj, aws.ToString(created.UploadId))
	u.sha = sha
	u.send(1, first, n1)
	u.send(2, second, n2)
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
		u.send(num, buf, n)
	}
	return u.finish(readErr)
}

// partUploader sends the parts of one multipart upload, at most
// Options.UploadConcurrency at a time, and completes or aborts it.
type partUploader struct {
	d        *Driver
	obj      object
	uploadID string
	// sha is the running SHA-256 of the parts sent so far, in order, for
	// a payload recorded with SHA-256; nil for a CRC, which is combined
	// from the parts' (sums).
	sha    hash.Hash
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

func newPartUploader(ctx context.Context, d *Driver, obj object, uploadID string) *partUploader {
	pctx, cancel := context.WithCancel(ctx)
	return &partUploader{
		d: d, obj: obj, uploadID: uploadID,
		parent: ctx, ctx: pctx, cancel: cancel,
		slots: make(chan struct{}, d.opts.UploadConcurrency),
		sums:  make(map[int32]partSum),
	}
}

// send uploads part num (the first n bytes of buf) once a slot is free,
// and returns buf to the pool when done.
func (u *partUploader) send(num int32, buf *[]byte, n int) {
	if u.sha != nil {
		u.sha.Write((*buf)[:n]) // in order: send is called part after part
	}
	u.slots <- struct{}{}
	u.wg.Add(1)
	go func() {
		defer func() {
			u.d.parts.put(buf)
			<-u.slots
			u.wg.Done()
		}()
		alg := u.obj.alg
		if alg == driver.SHA256 {
			alg = driver.CRC32C
		}
		part := (*buf)[:n]
		sum := alg.Sum(part)
		var c s3Checksums
		c.set(driver.Checksum{Algorithm: alg, Sum: sum})
		out, err := u.d.s3().UploadPart(u.ctx, &s3.UploadPartInput{
			Bucket:            aws.String(u.d.opts.Bucket),
			Key:               aws.String(u.obj.key),
			UploadId:          aws.String(u.uploadID),
			PartNumber:        aws.Int32(num),
			Body:              bytes.NewReader(part),
			ContentLength:     aws.Int64(int64(n)),
			ChecksumCRC32C:    c.crc32c,
			ChecksumCRC64NVME: c.crc64nvme,
		}, withPayloadHash(unsignedPayload))
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			if u.err == nil {
				u.err = err
				u.cancel()
			}
			return
		}
		u.parts = append(u.parts, s3types.CompletedPart{
			PartNumber:        aws.Int32(num),
			ETag:              out.ETag,
			ChecksumCRC32C:    c.crc32c,
			ChecksumCRC64NVME: c.crc64nvme,
		})
		u.sums[num] = partSum{sum: sum, n: int64(n)}
	}()
}

// failed returns the first failed part's error, if any.
func (u *partUploader) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// finish waits for the parts in flight, then completes the upload, or
// aborts it if readErr (the source's or ctx's) is set, a part failed or
// the completion failed. It returns readErr, else the caller's context's
// error, else the failed request's.
func (u *partUploader) finish(readErr error) (*driver.BlobAttrs, error) {
	u.wg.Wait()
	defer u.cancel()
	err := readErr
	if err == nil {
		err = u.failed()
	}
	if err == nil {
		slices.SortFunc(u.parts, func(a, b s3types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
		in := &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(u.d.opts.Bucket),
			Key:             aws.String(u.obj.key),
			UploadId:        aws.String(u.uploadID),
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: u.parts},
		}
		sum := u.wholeSum()
		if u.sha == nil {
			var c s3Checksums
			c.set(sum)
			in.ChecksumCRC32C, in.ChecksumCRC64NVME = c.crc32c, c.crc64nvme
			in.ChecksumType = s3types.ChecksumTypeFullObject
		}
		out, cerr := u.d.s3().CompleteMultipartUpload(u.parent, in)
		if cerr == nil {
			return &driver.BlobAttrs{ETag: aws.ToString(out.ETag), Checksum: sum}, nil
		}
		// A completion whose response was lost (or that a retry
		// repeated) may have stored the object.
		u.d.undoObject(u.parent, u.obj.key, cerr)
		err = cerr
	}
	u.abort()
	if readErr == nil && u.parent.Err() != nil {
		return nil, u.parent.Err()
	}
	return nil, err
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
