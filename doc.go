// Package docblob stores documents with attached blobs: a record of
// metadata in a document store whose large payloads (PDFs, images, JSON past
// DynamoDB's 400 KB item limit) live in a blob store, saved, read and
// deleted as one thing.
//
// A document is a pointer to a struct, or a map[string]any. Its fields are
// encoded as in gocloud.dev/docstore (the `docstore:"name"` struct tag,
// embedded structs, omitempty), and any top-level field of type *Blob is an
// attachment: its payload goes to the blob store, and the document records
// the payload's storage key, size, content type, checksum (see
// Checksums), ETag, name, creation time and user metadata.
//
//	type Invoice struct {
//		Customer string        `docstore:"pk"`
//		ID       string        `docstore:"sk"`
//		Title    string        `docstore:"title"`
//		PDF      *docblob.Blob `docstore:"pdf"`
//		Revision any           `docstore:"DocstoreRevision"` // optional
//	}
//
//	store, err := docblob.Open(ctx, "s3dynamo://invoices?bucket=my-bucket&region=eu-west-1")
//	inv := &Invoice{Customer: "acme", ID: "2026-001", Title: "March",
//		PDF: docblob.NewBlob(pdfReader, &docblob.BlobOptions{Name: "march.pdf"})}
//	err = store.Put(ctx, inv)   // streams the payload up, then writes the document
//	got := &Invoice{Customer: "acme", ID: "2026-001"}
//	err = store.Get(ctx, got)   // metadata only
//	r, err := got.PDF.Open(ctx) // streaming read, verified at EOF
//	err = store.Delete(ctx, got) // the document and its payloads
//
// # Keys
//
// A document's key is a partition key plus, on stores that have one, a sort
// key: string fields named, by default, "pk" and "sk" (the single-table
// convention) on every driver; drivers let the names be configured. Keys
// are non-empty valid UTF-8 within the backend's limits (2048 and 1024 bytes
// on DynamoDB); any characters are allowed. Sort keys compare as byte
// strings in queries. Numeric keys are not supported: format them as
// strings (zero-padded to sort).
//
// # The write protocol
//
// The Store, not the driver, runs the protocol, so every backend behaves
// the same. This is its one statement; the code refers to its steps.
//
//  1. Each new payload is written under a storage key that has never held
//     anything: namespace/partition/sort/field/id (see Ownership), with
//     the key parts escaped (and hashed if long) and a time-ordered random
//     id. A committed payload is never overwritten, so a failed or losing
//     write cannot damage data a document points to.
//  2. Payloads are written first, streamed, with their checksum and size
//     computed in the same pass. If an upload fails, nothing is written and
//     the partial upload is aborted.
//  3. Then the document is written with the caller's condition (Create:
//     must not exist; a non-nil revision: must match; otherwise
//     unconditional), and the driver reports, atomically with the write,
//     which version it replaced. The write must start within
//     Options.CommitDeadline of the first upload, and is cancelled
//     Options.WriteTimeout after that deadline; a Put that cannot start it
//     in time deletes its payloads and fails with code Unavailable (see Why
//     Sweep is safe).
//  4. If the document write fails definitely (a condition that did not
//     hold, a rejected request, or any failure the driver knows was not
//     applied, such as losing every race it retried: see
//     driver.ErrNotApplied), the new payloads are deleted and the store
//     is exactly as before. If it fails ambiguously (a timeout, a reset, a
//     lost response), the Store reads the document back: if its own write
//     was applied, Put succeeds; otherwise the new payloads are left for
//     Sweep rather than risk deleting something a late write will point to
//     (unless the driver reports that a failed write is never applied
//     later). Only payloads the call itself uploaded are ever deleted,
//     never a client's direct upload.
//  5. After the commit, the payloads the replaced version referenced and the
//     new one does not are deleted. A failure there does not fail the call;
//     it is reported to Options.OnCleanupError and leaves an orphan for
//     Sweep.
//  6. Delete removes the document (conditionally if a revision is given),
//     learning atomically what it held, then deletes those payloads.
//  7. Payloads at or under Options.InlineThreshold are kept inside the
//     document and never touch the blob store.
//
// The number of requests is minimal: a Put of a new document with one
// attachment is one payload write and one document write; a Get is one
// document read; Blob.Open is one payload read; a Delete is one document
// delete plus one payload delete per attachment.
//
// # Consistency
//
// A document never references a payload that is not completely stored: a
// reader sees the old version or the new one, with its payloads. Once Put
// returns nil, the document and its payloads are committed. A Put that
// returns an error has changed nothing, except that after an ambiguous
// failure the write may still have been applied (as with any remote
// store); the Store never deletes a payload such a write could reference.
// Reads of whole payloads verify size and checksum at EOF and fail with
// code Corrupt on a mismatch, never returning silently bad data.
//
// Optimistic locking: give the document a field named DocstoreRevision (or
// Options.RevisionField) of type any or string. Get fills it; Put and
// Delete with a non-nil revision succeed only if the stored document still
// has it (FailedPrecondition otherwise), and Put sets the new revision.
// A document written by another tool has no revision: Get reports "none",
// and a Put or Delete with it applies only while the document exists and
// still has none (so a docblob writer's update in between, or a deletion,
// is not lost); a tool that rewrites items without maintaining the
// revision attribute cannot be detected.
// A Put that keeps an attachment read by an earlier Get (the *Blob left
// unchanged) is conditioned on the revision that Get returned even without
// a revision field, since a concurrent writer may have replaced and deleted
// that payload: such a Put fails with FailedPrecondition instead of
// committing a reference to a deleted payload. A stored *Blob moved to
// another document (or store) is copied, so that deleting one document
// never breaks another.
//
// Get never downloads payloads. Get and queries read the document as
// stored; drivers read strongly consistently where the backend offers it.
// A *Blob returned by Get stays readable until a later write replaces or
// deletes its payload; reading it then fails with code NotFound.
//
// # Checksums
//
// Each payload's document records one checksum of the payload, of the
// algorithm Options.Checksum chose when it was written (URL parameter
// checksum=): CRC32C by default, CRC64NVME, or SHA-256, under an attribute
// named after the algorithm ("crc32c": 8 hex digits, "crc64nvme": 16,
// "sha256": 64). Documents written before the choice existed record
// "sha256" and read as before; a store reads every algorithm, whatever
// its own. Every read of a whole payload verifies the checksum as it
// streams, in the same pass, and fails with code Corrupt at the end on a
// mismatch; range reads check their length only.
//
// The default is CRC32C because it costs nothing next to the network:
// measured over 1 MiB with Go 1.26 on an AMD EPYC (go test -run '^$'
// -bench Checksum ./driver/), SHA-256 runs at 1,530 MB/s, CRC64NVME at
// 1,415 MB/s (hash/crc64 uses a table, no CPU instruction), CRC32C at
// 19,700 MB/s (CPU instructions) and the SDK's default CRC32 at 10,000
// MB/s. With SHA-256, reading a 10 MiB payload took 1.10 to 1.33 times as
// long as the hand-written PutObject/GetObject with SDK defaults, which
// pay only a CRC32 pass. S3 computes and verifies CRC32C for PutObject
// and for multipart uploads (a full-object checksum), so that on
// s3dynamo each byte is hashed once on the way up (by the driver or the
// SDK) and, on a whole read, S3's stored checksum is compared with the
// document's before the first byte is returned and the SDK validates the
// stream: docblob does not hash it again. CRC64NVME is offered because S3
// computes it by default for new objects, but in Go it is no faster than
// SHA-256. Choose SHA-256 for a cryptographic digest (Blob.SHA256
// reports it; Blob.Checksum reports any algorithm). CRCs detect
// accidental corruption, not deliberate tampering.
//
// BlobOptions.SHA256 (an expected SHA-256) still works with every
// algorithm: docblob then computes a SHA-256 too, only for that payload.
// A direct upload records the checksum the backend vouches for in the
// backend's algorithm (see Store.NewUpload), so its algorithm may differ
// from the store's.
//
// # Numbers and sets
//
// DynamoDB numbers carry 38 significant digits; float64 does not. A number
// read from the store comes back as an int64 if it is an integer that
// fits, as a float64 if that float64 is exactly the number, and otherwise
// as a Decimal holding its digits, so that a Get and Put of a document
// written by another tool loses nothing. Go numeric fields receive a
// number only if they hold it exactly (InvalidArgument otherwise, naming a
// Decimal field as the fix). String, number and binary sets come back as
// StringSet, NumberSet and BinarySet and are written back as sets. See
// Decimal for the rules.
//
// Every driver returns a value in the form DynamoDB gives it back, so a
// map[string]any document reads the same on mem://, file:// and S3 +
// DynamoDB: a time.Time as its RFC 3339 text in UTC (typed time.Time
// fields decode it; times outside the years 0 to 9999 are refused), an
// integral float64 as an int64, a Decimal in plain normal text ("1.50"
// as "1.5"), sets sorted. The conformance suite holds every driver to it.
//
// # Ownership
//
// A store owns one namespace of payload keys, Store.Namespace:
// Options.BlobPrefix (URL parameter prefix; "" or ending in "/") followed
// by the driver's collection name (the DynamoDB table, say) and
// ".docblob/", for example "invoices.docblob/". No segment of BlobPrefix
// may end in ".docblob", so two namespaces are never nested: stores over
// different tables, with or without prefixes, can share one bucket, and
// none ever lists, reports, sweeps or deletes another's payloads. The
// namespace holds an owner marker (".docblob-owner") naming the
// collection; a store checks it before its first payload write, upload
// URL, Sweep or Check (Store.ClaimNamespace does it up front) and refuses,
// with FailedPrecondition, a namespace that another collection of the same
// name owns.
//
// Inside its namespace, each attachment field of each document has its
// own key prefix, partition/sort/field/. A stored attachment is honoured
// (read, signed, kept, copied or deleted as a payload) only if its key
// lies under the prefix of the very document and field that record it.
// Anything else shaped like an attachment, such as user-supplied JSON in
// a map document or an item written by another tool, is data: Get
// returns it as a plain map (or fails with InvalidArgument when the
// destination is a *Blob field), Delete and Sweep never delete what it
// names, and Check reports it as a ForeignReference. Put refuses a plain
// map that would be honoured: references enter documents only as *Blob
// values, through the write protocol. A *Blob moved to another document
// or field is copied, bytes and all.
//
// # Signed URLs and direct uploads
//
// Blob.SignedURL makes a time-limited download link for a payload;
// Store.NewUpload makes a signed PUT URL to which a client uploads a
// payload directly, and a token (Upload.Token) that any process whose
// store has the same configuration and Options.Secret turns back into the
// upload's Blob with Store.BlobFromUpload; Put then attaches it. Tokens
// are authenticated, expire at the commit deadline, and commit only into
// the document and field they were made for. The commit records the size
// and checksum the backend vouches for (S3: the SHA-256 bound with
// UploadOptions.SHA256 or its own full-object CRC; localsign: the SHA-256
// it computed) without reading the payload,
// and reads it once otherwise. S3 signs natively; the memory and
// filesystem drivers sign through package localsign, an http.Handler with
// HMAC-signed URLs that answers like S3, which Open sets up from the URL
// (sign_url, secret_env), so local development uses the same flow and
// code.
//
// Download links are served safely: a payload a browser could run (HTML,
// SVG, XML, JavaScript, or any type not known to be display-only) is served
// with "Content-Disposition: attachment" unless
// SignedURLOptions.AllowActiveContent is set (see Blob.SignedURL).
//
// Upload URLs are create-only: each writes its key at most once, so a
// reused URL can never replace a committed payload. UploadOptions.Size
// pins the exact size in the signature; UploadOptions.MaxSize bounds it
// (localsign enforces it as the bytes arrive; every store checks both when
// Put commits the upload). A Put that commits an upload and fails keeps
// the upload for a retry; an upload never committed is removed by Sweep.
//
// # Sweep and Check
//
// Store.Sweep deletes orphan payloads (left by a crash, by a clean-up or
// an ambiguous write whose payloads could not safely be deleted, or by a
// document deleted behind the store's back, such as by a DynamoDB TTL)
// once they are older than a grace period, and never a payload a
// committed document references, even with writers running; Store.Check
// reports dangling references, size and checksum mismatches and orphans
// without changing anything.
//
// Both cost time linear in the size of the store, whatever their
// BatchSize, which bounds only memory (the keys held at once). Payload
// keys begin with their document's key (see Ownership), escaped
// reversibly, so payloads listed in key order come grouped by document
// and name it. Sweep lists the namespace once, a batch at a time; for
// each batch it reads just the documents its payloads name, with
// Driver.GetDocuments (DynamoDB BatchGetItem: 100 keys per request,
// strongly consistent), and deletes the old payloads those documents do
// not reference with Driver.DeleteBlobs (S3 DeleteObjects: 1,000 keys per
// request), with at most SweepOptions.Concurrency requests in flight. A
// document is read once per batch that holds its payloads, and the last
// document read is kept for the next batch, so a store of n documents
// with one payload each costs n document reads, n/1000 listing pages and
// n/100 read requests. A key part whose escape is longer than 120 bytes
// is replaced by a hash in payload keys and cannot be decoded: such
// payloads (their documents have long keys) wait until half a batch of
// them has gathered, then are checked against one scan of every
// document; memory then holds up to twice BatchSize keys, and the cost is
// one scan per BatchSize/2 such payloads. Check scans the documents once
// to check each reference, in min(CheckOptions.Concurrency, 64) parallel
// segments (driver.Query.TotalSegments: DynamoDB's parallel Scan on
// s3dynamo, a hash of the partition key on the other drivers), with one
// StatBlob per referenced payload, at most CheckOptions.Concurrency at
// once, then finds orphans as Sweep does: at
// most two reads of each document. Both report their counts so far
// through their Progress callbacks after each batch.
//
// # Why Sweep is safe
//
// Sweep deletes a payload only if no document references it and it was
// stored more than the grace period ago. That never deletes a payload a
// committed document references, because of three facts of the write
// protocol:
//
//  1. A payload is referenced by one document only, the one whose key
//     prefix it lies under (see Ownership), and it becomes referenced only
//     by the Put that stored it, or for a direct upload the Put that
//     commits it. A Put that keeps a stored attachment is conditioned on
//     the revision that references it, and a copied attachment is a new
//     payload, so a payload no longer referenced is never referenced
//     again.
//  2. That Put notes the time t0 before its first upload starts (for a
//     direct upload, the time its URL was signed, before any byte could be
//     stored), so the payload's modification time m, as the backend
//     records it, is at least t0, less clock skew.
//  3. The Put starts its document write no later than t0 +
//     Options.CommitDeadline, with a context deadline of t0 +
//     CommitDeadline + Options.WriteTimeout: the document lands, if at
//     all, before t0 + CommitDeadline + WriteTimeout, plus the time a
//     request may linger in the network after the client gave up.
//
// Sweep starts at time s and considers only payloads with m < s - grace;
// every document read it decides by happens after s (a strongly
// consistent read of the one document whose key prefix holds the
// payload, which by 1 is the only one that can reference it, or a scan
// of all documents for payloads whose keys hold a hashed key part). The
// order of listing and reading within the sweep does not matter, so
// Sweep may keep a document read for an earlier batch: what counts is
// that the read came after s. A payload it finds unreferenced was either
// referenced once and, by 1, never will be again, or belongs to a Put
// that had not committed when its document was read, after s; that Put
// would have to land after s > m + grace >= t0 + grace, which 3 rules
// out as long as the grace period exceeds CommitDeadline + WriteTimeout
// by more than the clock skew and network delay. A document deleted
// behind the store's back (a TTL, another tool) leaves payloads that no
// document references: by the same argument they are orphans, and Sweep
// deletes them once they are older than the grace period. Sweep therefore refuses a grace period shorter than
// CommitDeadline + WriteTimeout + 10 minutes; the default is 24 hours.
// Several Sweeps may run at once: each deletes only what it found
// unreferenced.
//
// # Errors
//
// Errors returned by a Store are *Error values with a portable ErrorCode,
// the operation and the document key; errors.Is(err, docblob.NotFound) tests
// the code, and Code(err) returns it. Context errors are returned as they
// are (context.Canceled, context.DeadlineExceeded). Store.ErrorAs reaches the
// driver's own error (an AWS SDK error, say), and Store.As the driver's
// clients. Bad input (empty or oversized keys, a missing key field, a value
// that is not a document, a field that cannot be encoded, an oversized
// document) fails with InvalidArgument or TooLarge before anything is
// written. Messages never contain credentials. The table on ErrorCode says
// what each code means for the caller and whether retrying may help. A
// write that fails with Unknown or Unavailable may have been applied:
// retry it conditionally (with the revision the document had, or with
// Create). Store.ErrorAs panics on a target that is not a non-nil pointer
// to an interface or error type, as errors.As does.
//
// # Observability
//
// A Store reports every operation to OpenTelemetry through the global
// providers (otel.GetTracerProvider, otel.GetMeterProvider), following
// gocloud.dev's conventions: install providers with otel.SetTracerProvider
// and otel.SetMeterProvider, before or after opening stores, and docblob's
// spans and metrics appear; without them an operation costs one look at
// the global providers, and no allocation. The instrumentation scope is
// "github.com/docblob/docblob" (InstrumentationName).
//
// Spans are named InstrumentationName + "." + the method: Put, Create,
// Get, Delete, GetMany, DeleteMany, Query (one span per page fetched),
// Open (Blob.Open, NewRangeReader, ReadAll and CopyTo: from the call until
// the reader is closed), SignedURL, NewUpload, Sweep, Check and
// ClaimNamespace. Each has the attributes docblob.method, docblob.driver
// (the driver's Go package path) and docblob.code (OK or the ErrorCode's
// name; Canceled and DeadlineExceeded for context errors), plus
// docblob.bytes on Put, Create and Open (payload bytes written or read);
// GetMany and DeleteMany take the code of their first failed document.
// A failed operation's span has status Error and records the error, whose
// message never holds credentials nor signed URLs. A payload left for
// Sweep because its deletion failed is recorded as a span event named
// "docblob.cleanup_failed" with the attributes docblob.payload and
// docblob.code, in addition to Options.OnCleanupError.
//
// Metrics, with the attributes docblob.method, docblob.driver and
// docblob.code:
//
//	github.com/docblob/docblob/latency          histogram, ms
//	github.com/docblob/docblob/completed_calls  counter
//	github.com/docblob/docblob/bytes_read       counter, By (payload bytes)
//	github.com/docblob/docblob/bytes_written    counter, By (payload bytes)
//
// Clean-up failures are also logged (Options.OnCleanupError, through
// log/slog by default), with the document key, the payload key and the
// code as attributes.
//
// # Drivers
//
// Open selects a driver by URL scheme; importing a driver's package
// registers it: mem:// (drivers/memstore), file:// (drivers/filestore),
// s3dynamo:// (drivers/s3dynamo). Driver authors implement the small
// interface in package driver, every method of it (a driver without
// signed URLs of its own embeds driver.Unsupported, which answers
// Unimplemented, and may be given localsign's with Open's sign_url), and
// test it with package conformance: conformance.TestDriver checks the
// primitives directly, conformance.Run the whole Store on top. A driver
// decides some codes itself by returning a *driver.Error; the Store
// honours it before asking the driver's ErrorCode. The revision field of
// documents defaults to the driver's Info.RevisionKey, "DocstoreRevision"
// on every driver of this module.
//
// # Testing
//
// Package memtest gives unit tests a ready store on the memory driver,
// with fault injection (failures, lost responses, hangs), a fake clock,
// and assertions that nothing is orphaned:
//
//	store := memtest.New(t) // closed when the test ends
//	memtest.FailNext(store, memtest.PutDocument, docblob.PermissionDenied)
//	err := svc.Archive(ctx, invoice) // the code under test
//	memtest.AssertConsistent(t, store) // no orphan, no dangling reference
//
// A filestore directory serves local development. The Store behaves the
// same over all of them, since the protocol lives here and every driver
// passes one conformance suite.
package docblob
