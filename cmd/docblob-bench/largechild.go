package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/drivers/s3dynamo"
)

// childLarge is the child side of a large round trip: upload the
// pseudo-random stream, download it while hashing, check the hash, and
// delete it (not timed).
func childLarge(ctx context.Context, spec childSpec) (childResult, error) {
	var res childResult
	sv, err := serversFromEnv()
	if err != nil {
		return res, err
	}
	cfg, err := sv.awsConfig(ctx)
	if err != nil {
		return res, err
	}
	fx := fixture{table: spec.Table, bucket: spec.Bucket}
	drv, err := s3dynamo.New(sv.driverOptions(fx, &cfg, spec.PartSize, spec.Concurrency))
	if err != nil {
		return res, err
	}
	store, err := docblob.NewStore(drv, nil)
	if err != nil {
		return res, err
	}
	defer store.Close()
	var upT, downT tally
	var upload func(context.Context) error
	var download func(context.Context, io.Writer) error
	var cleanup func(context.Context) error
	switch spec.Contender {
	case "docblob":
		upload, download, cleanup = docblobLarge(store, spec)
	case "tm":
		var s3c *s3.Client
		store.As(&s3c)
		upload, download, cleanup = tmLarge(s3c, spec)
	default:
		return res, fmt.Errorf("unknown large contender %q", spec.Contender)
	}

	t0 := time.Now()
	if err := upload(withTally(ctx, &upT)); err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	res.UpNanos = int64(time.Since(t0))
	res.UpPeakRSSKiB = peakRSSKiB()
	h := sha256.New()
	t1 := time.Now()
	if err := download(withTally(ctx, &downT), h); err != nil {
		return res, fmt.Errorf("download: %w", err)
	}
	res.DownNanos = int64(time.Since(t1))
	res.UpRequests, res.DownRequests = upT.snapshot(), downT.snapshot()
	if got := hex.EncodeToString(h.Sum(nil)); got != spec.WantSHA256 {
		return res, fmt.Errorf("downloaded SHA-256 %s, want %s", got, spec.WantSHA256)
	}
	return res, cleanup(ctx)
}

// docblobLarge stores the payload as the attachment of a document and
// reads it back with Get and Blob.Open.
func docblobLarge(store *docblob.Store, spec childSpec) (up func(context.Context) error, down func(context.Context, io.Writer) error, cleanup func(context.Context) error) {
	up = func(ctx context.Context) error {
		doc := &benchDoc{PK: spec.PK, SK: spec.SK, Title: "large",
			File: docblob.NewBlob(newPRNG(spec.Seed, spec.Size), &docblob.BlobOptions{Name: "large.bin"})}
		if err := store.Put(ctx, doc); err != nil {
			return err
		}
		if doc.File.SHA256() != spec.WantSHA256 {
			return fmt.Errorf("docblob recorded SHA-256 %s, want %s", doc.File.SHA256(), spec.WantSHA256)
		}
		return nil
	}
	down = func(ctx context.Context, w io.Writer) error {
		doc := &benchDoc{PK: spec.PK, SK: spec.SK}
		if err := store.Get(ctx, doc); err != nil {
			return err
		}
		r, err := doc.File.Open(ctx)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	}
	cleanup = func(ctx context.Context) error {
		return store.Delete(ctx, &benchDoc{PK: spec.PK, SK: spec.SK})
	}
	return up, down, cleanup
}

// tmLarge moves the payload with the transfer manager alone, configured as
// the driver configures its own uploads (part size, concurrency, CRC32C
// checksums per part);
// downloads use the same part size and concurrency, buffering at most
// part size x concurrency.
func tmLarge(s3c *s3.Client, spec childSpec) (up func(context.Context) error, down func(context.Context, io.Writer) error, cleanup func(context.Context) error) {
	tm := transfermanager.New(s3c, func(o *transfermanager.Options) {
		o.PartSizeBytes = spec.PartSize
		o.MultipartUploadThreshold = spec.PartSize
		o.Concurrency = spec.Concurrency
		o.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmCrc32c
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		o.GetObjectBufferSize = spec.PartSize * int64(spec.Concurrency)
	})
	key := spec.PK + "/" + spec.SK + "/tm"
	up = func(ctx context.Context) error {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(spec.Bucket), Key: aws.String(key),
			Body: newPRNG(spec.Seed, spec.Size), ContentType: aws.String("application/octet-stream"),
		})
		return err
	}
	down = func(ctx context.Context, w io.Writer) error {
		out, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String(spec.Bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		_, err = io.Copy(w, out.Body)
		return err
	}
	cleanup = func(ctx context.Context) error {
		_, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(spec.Bucket), Key: aws.String(key)})
		return err
	}
	return up, down, cleanup
}
