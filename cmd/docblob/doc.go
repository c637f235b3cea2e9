// Command docblob inspects, copies and maintains docblob stores: documents
// (DynamoDB-like) with attached payloads (S3-like), as the library
// github.com/docblob/docblob stores them.
//
// Install it with
//
//	go install github.com/docblob/docblob/cmd/docblob@latest
//
// # The store
//
// Every command but cp works on one store, named by a URL: the --store flag,
// or the DOCBLOB_STORE environment variable (cp takes its two stores as
// arguments). Every driver is compiled in:
//
//	mem://                                   in memory: gone when the command ends
//	file:///var/lib/invoices                 a directory (drivers/filestore)
//	s3dynamo://TABLE?bucket=B&region=R       S3 + DynamoDB (drivers/s3dynamo)
//
// with the parameters of docblob.Open and of each driver (go doc
// github.com/docblob/docblob/drivers/s3dynamo, for example). Credentials for
// S3 and DynamoDB come from the usual AWS chain (AWS_PROFILE,
// AWS_ACCESS_KEY_ID, ...), never from the URL.
//
// A document is named by two arguments, PARTITION SORT, or by PARTITION
// alone on a store whose documents have no sort key; never by a joined
// string. Put -- before a key that starts with a dash.
//
// # Commands
//
//	ls PARTITION [--prefix P | --between A B] [--desc] [--limit N]
//	ls --all [--limit N]
//	    List a partition's documents in sort key order (--all: every
//	    document of the store, a full scan, in no particular order).
//	stat PARTITION SORT
//	    Show a document: revision, fields, and each attachment's size,
//	    content type, checksum, name, creation time and storage key.
//	cat PARTITION SORT FIELD
//	    Write an attachment's payload to stdout, verified at the end.
//	get PARTITION SORT FIELD -o FILE
//	    Download a payload into FILE (- for stdout): written to a temporary
//	    file, verified, then renamed, so a corrupt payload leaves no file.
//	put PARTITION SORT FIELD FILE [--content-type T] [--name N] [--metadata k=v]
//	put PARTITION SORT --doc doc.json
//	put PARTITION SORT FIELD --upload-token TOKEN
//	    Store FILE (- for stdin) as the attachment FIELD, keeping the
//	    document's other fields and attachments; or set the fields that
//	    are not attachments from a JSON object; or commit a direct
//	    upload. Conditioned on the revision read first; --create fails if
//	    the document exists, --revision R unless its revision is R.
//	rm PARTITION SORT [--revision R] [--force]
//	    Delete a document and its payloads.
//	url PARTITION SORT FIELD [--expiry D] [--put [--content-type T] [--size N] [--max-size N]]
//	    A signed download URL; with --put, a create-only upload URL, the
//	    headers it needs and the token that commits it.
//	sweep [--dry-run] [--grace D]
//	    Delete orphan payloads older than the grace period (default 24h).
//	check [--verify]
//	    Report dangling references, size mismatches, malformed and
//	    foreign attachments, orphans; --verify also reads every payload
//	    and checks its checksum.
//	cp SRC_URL DST_URL [--partition P] [--concurrency N] [--verbose]
//	    Copy or migrate a whole store, or one partition, into another:
//	    payloads streamed, verified as they are read and again as they
//	    are stored. Resumable: documents already in the destination with
//	    the same fields and payloads (same checksums) are skipped, matching
//	    attachments are not copied again. An interrupt lets the documents
//	    in flight finish; run the same cp again to finish.
//	completion bash|zsh|fish|powershell
//	    A shell completion script.
//	serve [--listen ADDR]
//	    Serve localsign's handler for a file:// or mem:// store whose URL
//	    has sign_url and secret_env, at sign_url's host and path: local
//	    development of signed URLs and direct uploads.
//
// Global flags: --store URL, --json, --quiet (-q: no progress, no notices),
// --no-progress, --progress-interval D (default 5s).
//
// # Progress
//
// Transfers (cat, get, put), copies, sweeps and checks show progress on
// stderr: a bar with bytes, rate and ETA when stderr is a terminal (check
// and sweep show a spinner, the findings and the elapsed time), otherwise
// a plain line every --progress-interval and one when the work ends:
//
//	cp: 412/1000 documents, 41.2 MiB / 100.0 MiB (41%), 24.8 MiB/s, ETA 2.4s
//	cp: done in 4.1s, 1000/1000 documents, 100.0 MiB, 24.5 MiB/s
//
// With --json those lines are JSON objects of type "progress". --quiet and
// --no-progress silence them.
//
// # JSON output
//
// With --json, results are JSON objects on stdout, one per line (as s5cmd
// prints them), and errors and progress are JSON objects on stderr. Every
// object has a "type"; its other fields are always present ("", 0, false,
// {} or [] when they do not apply), and their names are stable.
// Document field values are JSON values: numbers with all their digits
// (DynamoDB's 38), sets as arrays, binary values as base64 strings. Times
// are RFC 3339 in UTC.
//
//	type "document" (ls, stat, put)
//	    partition, sort ("" on partition-only stores), revision,
//	    fields (every field but the key, revision and attachments),
//	    attachments: {FIELD: {size, content_type, sha256 ("" unless the
//	    checksum is a SHA-256), checksum ("crc32c:HEX", "crc64nvme:HEX"
//	    or "sha256:HEX"), name, created,
//	    etag, inline, key (the payload's storage key, "" if inline),
//	    bucket ("" but on S3), metadata}}
//	type "deleted" (rm)
//	    partition, sort, existed, attachments (the fields whose payloads
//	    were deleted)
//	type "download" (get)
//	    partition, sort, field, file, size, sha256, checksum (verified)
//	type "url" (url)
//	    partition, sort, field, method (GET or PUT), url, expires, headers
//	    (the headers a PUT must carry), token (PUT: commit with put ...
//	    --upload-token)
//	type "sweep" (sweep)
//	    dry_run, grace_seconds, payloads, foreign, young, referenced,
//	    orphans, deleted, failed, documents (docblob.SweepResult's counts)
//	type "finding" (check, one per problem)
//	    kind (dangling_reference, size_mismatch, checksum_mismatch,
//	    malformed_attachment, orphan_payload, foreign_reference),
//	    partition, sort, field, payload_key, stored (orphans), detail
//	type "check_summary" (check, last)
//	    verified, findings, kinds ({kind: count}), elapsed_seconds
//	type "copy" (cp, one per document)
//	    partition, sort, status (copied, updated, skipped, vanished:
//	    deleted from the source meanwhile, failed), attachments (payloads
//	    transferred), bytes, code and error (failed)
//	type "copy_summary" (cp, last)
//	    documents, copied, updated, skipped, vanished, failed,
//	    attachments, bytes, elapsed_seconds, bytes_per_second, complete
//	    (every listed document is in the destination)
//	type "serving" (serve, once it listens)
//	    url, address
//
// On stderr:
//
//	type "progress"
//	    command, done, failed, bytes, total_bytes (-1 if unknown),
//	    documents, total_documents (-1 if unknown), findings,
//	    elapsed_seconds, bytes_per_second, eta_seconds (-1 if unknown)
//	type "error"
//	    command, code (as in the table below), exit_code, error, hint (what
//	    to do), partition and sort (the document concerned, if any)
//
// # Exit codes
//
// Errors are printed on stderr with the document's key and what to do
// about them; the exit code says what kind of error it was, from
// docblob's error codes:
//
//	code  JSON code            meaning
//	0                          success
//	1     unknown              a failure of no other kind (a local file, an unclassified backend error)
//	2     usage                bad command line: unknown command or flag, wrong arguments, no store
//	3     not_found            no such document, attachment, payload or table
//	4     already_exists       put --create: the document exists
//	5     precondition_failed  a revision did not match (the document changed: read it again and
//	                           retry), or the store's namespace belongs to another table
//	6     invalid_argument     the store refused the request or the URL (bad key, parameter, value)
//	7     permission_denied    the backend refused the credentials or the request
//	8     too_large            a document or payload over the backend's limit
//	9     corrupt              a payload does not match its recorded checksum or size
//	10    unimplemented        the backend cannot do it (signed URLs without sign_url)
//	11    unavailable          the backend could not be reached or throttled: retry later
//	12                         check found problems (its results; no error line)
//	130   interrupted          SIGINT or SIGTERM; run the command again to finish
//
// cp goes on past documents that fail and exits with the code of the first
// failure (each is reported in its "copy" line).
package main
