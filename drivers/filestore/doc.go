// Package filestore is a docblob driver that keeps documents and payloads
// as files under one directory: crash-safe, confined to its directory, and
// safe to share between processes on one machine. It is meant for local
// development, tests and small single-machine deployments; code written
// against it behaves as it would on S3 + DynamoDB, down to the limits on
// key and document sizes.
//
// # Overview
//
// Open a store with docblob.Open("file:///var/lib/invoices") after
// importing this package, or build a driver with New and pass it to
// docblob.NewStore. Its Info reports SettledOnReturn: a write that returned
// an error was not applied and never will be. It signs no URLs: SignedURL
// answers Unimplemented (it embeds driver.Unsupported), and package
// localsign (docblob.Open's sign_url parameter) gives it signed URLs. It
// cleans up after writers killed mid-write itself, as it lists its
// directories (see Durability).
//
// The driver builds on unix systems with flock(2) (Linux, macOS, the BSDs,
// illumos); elsewhere New fails with an error whose code is Unimplemented.
// Windows is not supported.
//
// # URL
//
//	file:///absolute/path/to/dir[?params]
//	file://localhost/absolute/path/to/dir
//	file:relative/path/to/dir
//
// The directory is created (mode 0700) if missing. Parameters:
//
//	partition_key=NAME       the partition key attribute (default "pk")
//	sort_key=NAME            the sort key attribute (default "sk")
//	no_sort_key=true         documents keyed by a partition key only;
//	                         sort_key= (empty) is an alias
//	max_document_bytes=N     the document size limit (default 409600, as
//	                         DynamoDB); 0 means no limit
//	collection=NAME          the document collection (default "files";
//	                         see Collections)
//	nosync=true              skip fsync (see Options.NoSync)
//
// The key parameters are those of every scheme (driver.ParseKeyParams).
// Unknown parameters, and any parameter given more than once, are an
// error. docblob.Open's own parameters (prefix, inline_threshold) work as
// on every scheme.
//
// # Collections
//
// A directory holds one set of payloads and any number of document
// collections, as an S3 bucket may be shared by several DynamoDB tables.
// A driver uses one collection, Options.Collection (URL parameter
// collection), default "files", and reports it as Info.Collection; the
// portable layer names the store's payload namespace after it, so stores
// over different collections of one directory never share payloads.
// Info.CollectionID is "file:" + the name: payloads are shared only
// within one directory, where the name alone tells collections apart, so
// a directory can be moved or restored elsewhere and keep its payloads. The default collection's documents are in DIR/docs (where they
// have always been); another collection's are in a directory of their own
// beside it, DIR/docs.<encoded name> (see below). Drivers of the same
// directory and collection name see the same documents.
//
// # Layout on disk
//
//	DIR/docs/<partition>/<sort>.json   one document per file (the
//	                                   default collection)
//	DIR/docs.<name>/...                the documents of collection <name>
//	DIR/blobs/<seg>/<seg>/.../<last>.blob
//	                                   one payload per file, its raw bytes
//	DIR/blobs/.../.sha256-<last>.blob  the payload's checksum sidecar,
//	                                   beside it, if it has one
//	DIR/locks/00.lock ... ff.lock      lock files (empty)
//	.tmp-*                             temporary files, beside their target
//
// Keys are never used raw as file names. Each key is encoded over the
// alphabet a-z 0-9 '-': other bytes become '_' and two hex digits, and an
// uppercase letter becomes '^' and the letter ("Acme Corp" is
// "^acme_20^corp"); the empty string is "_". Every '/'-separated segment of
// a payload key becomes a directory (up to 32 of them, the rest staying in
// the file name), so the on-disk tree mirrors the keys and a listing by
// prefix reads only the directories it needs. An encoded name longer than
// 128 bytes is cut into directories named "chunk+"; so every name stays
// under 143 bytes, whatever the key's length (up to 2048 bytes for
// partition keys, 1024 for sort and payload keys, the limits of DynamoDB
// and S3). The encoding is reversible and has one spelling per key, which
// is how queries and listings work without an index: they read directory
// names and decode them. Names that do not decode (temporary files,
// sidecars, planted files, other spellings) are ignored.
//
// Documents are held to DynamoDB's rules for attribute names and values
// (driver.CheckDynamoDBValues: no empty names, no NaN, ±Inf or numbers
// outside DynamoDB's range), and payloads announced with a SHA-256 must
// match it (code Corrupt), so code tested here fails where production
// would.
//
// A document file is JSON in which every value carries its type, so that
// every driver.Document value comes back exactly as stored: int64 and
// float64 stay distinct, []byte and nil slices survive, strings that are not
// valid UTF-8 too; a time keeps its instant and UTC offset (not its
// Location's name). The file also holds the key and revision. Payload files
// hold the payload's bytes and nothing else; metadata (content type,
// checksum) is in the document, kept by the portable layer.
//
// A payload written with driver.WriteOptions.Checksum SHA256 (by a store
// whose checksum is SHA-256, or a localsign upload) also has a checksum
// sidecar; a CRC that WriteBlob computes is reported to the portable
// layer, which records it in the document, and not kept. The sidecar is
// the payload file's name with the prefix ".sha256-", in the same
// directory. Like temporary files, its name starts with '.', which no
// key's encoding does, so it can never be taken for a payload and is
// invisible to ListBlobs and every read; it stays under 143 bytes. It is a
// short text file: the line "docblob-sha256 v1", then the SHA-256 in hex,
// the payload file's size, modification time in Unix nanoseconds and
// inode number, one per line. StatBlob reports the payload's size and
// modification time from lstat, and the sidecar's SHA-256 only if the
// sidecar parses and its size, time and inode match the payload file's;
// otherwise (no sidecar, a malformed or stale one, a payload file
// replaced or rewritten behind the driver's back, a copy of the directory
// that renumbered inodes) Checksum is zero rather than a wrong checksum. (Like S3, the driver
// cannot notice bytes changed in place that keep the file's size and
// time, as the conformance suite's CorruptBlob may.) StatBlob's ContentType is always "". The sidecar is
// made durable before the payload is linked into place, so a crash never
// leaves a visible payload without the checksum it was written with; a
// sidecar left without its payload is harmless, and DeleteBlob and
// listings remove it (see Durability). DeleteBlob removes the payload,
// then its sidecar.
//
// Queries list a partition's directory (names only), sort and filter the
// decoded sort keys, and read the page's documents: cost grows with the
// partition's size. A page holds at most Query.Limit documents and stops
// at 1 MiB of document data, like a DynamoDB query page. A query of every
// partition (Partition "") goes through partitions in key order. ListBlobs
// walks the tree in key order, best first, reading only the directories
// that can hold the page's keys; a page holds up to 1000 payloads. Page
// tokens hold the last key returned, encoded; they are only ever compared
// with keys, so a forged token can at worst skip results. Query.StartAfter
// positions a partition query the same way, by a sort key.
//
// # Durability
//
// Every write goes to a new temporary file in the target's directory, is
// fsynced, and is then renamed (a document) or hard-linked (a payload)
// into place, after which the directory is fsynced; new directories are
// fsynced into their parents. A document or payload is therefore wholly
// there or not at all, after a crash of the process or of the machine.
// Payloads are linked rather than renamed so that a key that already holds
// a payload is never replaced (payloads are immutable in docblob): such a
// write fails with AlreadyExists. On file systems without hard links the
// driver checks the name is free, then renames.
//
// Once a document's rename is done the write is committed and PutDocument
// succeeds even if the following directory fsync fails: an error would
// tell the portable layer, through SettledOnReturn, that nothing was
// written. Deletes remove the file, fsync the directory, and remove the
// directories they leave empty.
//
// Temporary files of writers that were killed stay behind, invisible to
// every read and listing, as do checksum sidecars whose payload a crash
// kept from being linked. The driver removes them itself, as it comes
// across them in the directories it reads: ListBlobs removes those among
// payloads (docblob's Sweep and Check list the store's whole namespace,
// so a sweep cleans it), QueryDocuments those among a partition's
// documents (a scan of every partition, as Sweep and Check make, cleans
// them all); it then removes the directories they alone kept. It removes
// only files last modified more than Options.StaleTempAge ago (default
// DefaultStaleTempAge, 24 hours; negative to disable), an age no live
// writer reaches: a writer refreshes its temporary file's modification
// time with every write as the payload arrives, and writes a sidecar or
// a document's temporary file just before renaming or linking it. A
// writer that does stall longer than that between two writes (a client
// sending nothing for a day) fails cleanly: its link or rename finds no
// file, and nothing is committed.
//
// Options.NoSync skips the fsyncs: still atomic, no longer durable.
//
// # Confinement
//
// All file access goes through an os.Root opened on the directory, so no
// key, page token or planted symbolic link can make the driver read,
// write, list or remove anything outside it: os.Root refuses to resolve a
// path out of the root, and the driver's own names never contain '/', '.'
// components, NUL or backslashes anyway. Within the root, the driver does
// not follow symbolic links either: reads check with lstat that they
// opened a regular file, listings skip links, and reads of documents check
// that the file holds the key they asked for. An attempt through a planted
// link fails with PermissionDenied. Because the encoding produces only
// lowercase ASCII, names never collide on case-insensitive or
// normalizing file systems ("Acme" and "acme", "é" and "e\u0301" stay
// distinct), and temporary files, sidecars and lock files can never
// collide with keys.
//
// # Sharing between processes
//
// Several processes (and several Drivers in one process) may use the same
// directory at once. Reads take no lock: they see a whole version of each
// file. A document write or delete takes the lock of its key's stripe
// around reading the current version, checking the condition and renaming,
// so conditions (MustNotExist, MustMatchRevision) and the previous
// document returned are atomic across goroutines and processes. A key's
// stripe is one of 256 lock files, chosen by a hash of the key; within a
// process a stripe is also a semaphore, so goroutines queue without
// polling, and across processes it is flock(2), which the kernel releases
// when a process dies, so a killed writer never leaves a lock held.
// Waiting for a lock observes the context. flock is reliable on local file
// systems only: do not share a directory over NFS or other network file
// systems.
//
// # Errors
//
// The driver returns *fs.PathError and *os.LinkError values from the file
// system, and its own errors for conditions and checks. ErrorCode maps
// them: a missing file to NotFound; a failed MustNotExist to AlreadyExists;
// a revision mismatch, or a missing document for MustMatchRevision, to
// FailedPrecondition; permission errors and planted links to
// PermissionDenied; ENAMETOOLONG and sizes over the limits to TooLarge; bad
// keys, page tokens, conditions and values to InvalidArgument; an
// undecodable document file, or a payload that does not match the SHA-256
// announced in driver.WriteOptions, to Corrupt; everything else to Unknown.
// The driver's own errors are *driver.Error values that carry their code;
// ErrorCode maps the file system's. Every error unwraps to the underlying
// one, which docblob.Store.ErrorAs reaches with errors.As (the driver's
// ErrorAs reports false); As gives the driver's *os.Root (do not close it)
// and directory path (*string).
package filestore
